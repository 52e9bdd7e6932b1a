"""The HTTP layer every vendor client shares: auth, timeouts, retries, throttling, errors.

`VendorHTTP.send` is the ladder `send -> _send_with_retry -> _send_once`:

- `_send_once` waits for the rate limiter and the global rate budget (`_budget.py`), sends one
  request, and turns what came back (or the httpx exception) into a `Reply` or one of
  `connectors.exceptions`;
- `_send_with_retry` retries transient failures with full-jitter backoff, honours Retry-After
  on 429/503 (and slows the limiter down), stops at the policy's attempts or total time, and
  never resends a non-idempotent write after an ambiguous failure (no complete answer, a 2xx
  body that is not JSON, or a gateway's 502/504, behind which the vendor may have applied it):
  it raises `AmbiguousWriteError` so the caller can look before it re-creates.

A failure a person reads names the host and the path where that is the likely fix: could not
connect (`Unreachable`: host, address and the system's reason) and 404 (`LeadNotFound`: the
address; a base_url that is not the vendor's API answers 404 to every listing). Addresses carry
no query string and no user info, and are masked like everything else.

Which statuses mean a rejected key is the vendor's (`_profile.AUTH_STATUSES`): those raise
`KeyRejected` (the run stops); any other 403 is `Forbidden`, one request's (one row's) failure.

Some vendors quote the key back. What they say is masked here, before anything keeps it
(`_redact.py`): every registered secret in an error's message, code and request id and in the
text of an httpx exception; the client's own key in a reply's body (a 2xx too: its lead fields
reach the snapshot and the reports).

One INFO log line per request (method, path, status, time, attempt); never bodies or keys.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors._budget import LocalBudget, RateBudget
from connectors._profile import AUTH_STATUSES
from connectors._ratelimit import AdaptiveRateLimiter
from connectors._redact import Redactor, redact
from connectors._retry import (
    DEFAULT_RETRY,
    Clock,
    RetryPolicy,
    SystemClock,
    backoff_delay,
    parse_retry_after,
)
from connectors._secrets import Secret
from connectors.exceptions import (
    AmbiguousWriteError,
    FatalVendorError,
    Forbidden,
    KeyRejected,
    LeadConflict,
    LeadNotFound,
    PermanentVendorError,
    RateLimited,
    TransientVendorError,
    Unreachable,
    VendorError,
)

__all__ = ["DEFAULT_TIMEOUT", "Reply", "RequestStats", "VendorHTTP", "user_agent"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=60.0)
# The longest one attempt may take from first byte sent to last byte read (httpx has no total).
DEFAULT_ATTEMPT_TIMEOUT = 60.0
_REQUEST_ID_HEADERS = ("x-request-id", "x-amzn-requestid", "x-amz-apigw-id", "request-id")


def user_agent() -> str:
    """`leadpipe/<version> (+httpx)`."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        own = version("leadpipe")
    except PackageNotFoundError:
        own = "dev"
    return f"leadpipe/{own} httpx/{httpx.__version__}"


@dataclass(frozen=True)
class Reply:
    """A successful response: status, parsed JSON body, request id, attempts it took."""

    status: int
    body: Any
    request_id: str | None
    attempts: int


@dataclass
class RequestStats:
    """Counts for the run summary."""

    sent: int = 0
    retried: int = 0
    throttled: int = 0
    by_status: dict[int, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """The summary's `requests` block: sent, retried, throttled."""
        return {"sent": self.sent, "retried": self.retried, "throttled": self.throttled}


class VendorHTTP:
    """An `httpx.AsyncClient` for one target, with the vendor's auth header and our policies."""

    def __init__(
        self,
        *,
        vendor: str,
        base_url: str,
        api_key: Secret,
        auth_header: str,
        rate_limit_per_s: float = 10.0,
        burst: int | None = None,
        concurrency: int = 8,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        attempt_timeout: float = DEFAULT_ATTEMPT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        key_hint: str = "check the API key for this target",
        verify_tls: bool = True,
        budget: RateBudget | None = None,
        auth_statuses: Collection[int] | None = None,
    ) -> None:
        self.vendor = vendor
        self.key_hint = key_hint
        # Answers that mean "bad or missing key" (default: the vendor's, else 401 and 403).
        self.auth_statuses = frozenset(
            auth_statuses or AUTH_STATUSES.get(vendor, frozenset({401, 403}))
        )
        self.retry = retry
        self.attempt_timeout = attempt_timeout
        self.clock = clock or SystemClock()
        self.limiter = AdaptiveRateLimiter(rate_limit_per_s, burst, self.clock)
        # shared by every worker writing to this target (a Prefect limit), or local only
        self.budget: RateBudget = budget or LocalBudget()
        self.stats = RequestStats()
        self._rng = rng or random.Random()
        key = api_key.reveal()  # registers the key: logs and error messages mask it from now on
        # Only this vendor knows this key: a reply's body is masked with it alone.
        self._own_key = Redactor((key,))
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={
                auth_header: key,
                "User-Agent": user_agent(),
                "Accept": "application/json",
            },
            timeout=timeout,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            transport=transport,
            follow_redirects=False,
            verify=verify_tls,
        )

    def __repr__(self) -> str:
        return f"VendorHTTP(vendor={self.vendor!r}, base_url={str(self._client.base_url)!r})"

    async def aclose(self) -> None:
        try:
            await self.budget.aclose()
        finally:
            await self._client.aclose()

    async def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool,
    ) -> Reply:
        """Send with retries; raise a `VendorError` subclass when it does not succeed."""
        return await self._send_with_retry(method, path, json_body, params, idempotent)

    async def _send_with_retry(
        self,
        method: str,
        path: str,
        json_body: Mapping[str, Any] | None,
        params: Mapping[str, Any] | None,
        idempotent: bool,
    ) -> Reply:
        started = self.clock.now()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._send_once(method, path, json_body, params, idempotent, attempt)
            except AmbiguousWriteError as exc:
                if not idempotent:
                    raise
                failure: VendorError = exc
            except TransientVendorError as exc:
                failure = exc
            delay = self._delay(failure, attempt)
            if (
                attempt >= self.retry.max_attempts
                or delay is None
                or (self.clock.now() - started + delay > self.retry.total_timeout)
            ):
                failure.attempts = attempt
                raise failure
            self.stats.retried += 1
            await self.clock.sleep(delay)

    def _delay(self, failure: VendorError, attempt: int) -> float | None:
        """How long to wait before the next attempt; None when it is not worth waiting."""
        if isinstance(failure, RateLimited):
            self.stats.throttled += 1
            self.limiter.throttled(failure.retry_after)
            if failure.retry_after is not None:
                if failure.retry_after > self.retry.max_retry_after:
                    return None
                return failure.retry_after
        return backoff_delay(attempt, self.retry, self._rng)

    async def _send_once(
        self,
        method: str,
        path: str,
        json_body: Mapping[str, Any] | None,
        params: Mapping[str, Any] | None,
        idempotent: bool,
        attempt: int,
    ) -> Reply:
        await self.limiter.acquire()  # this process's pace (halved after a 429) first,
        await self.budget.take()  # then the shared one: its token must go out at once
        began = time.perf_counter()
        self.stats.sent += 1
        with self._translate_errors(method, path, idempotent, attempt):
            async with asyncio.timeout(self.attempt_timeout):
                response = await self._client.request(method, path, json=json_body, params=params)
        elapsed_ms = (time.perf_counter() - began) * 1000
        self.stats.by_status[response.status_code] = (
            self.stats.by_status.get(response.status_code, 0) + 1
        )
        logger.info(
            "%s %s %s -> %d in %.0f ms (attempt %d)",
            self.vendor,
            method,
            path,
            response.status_code,
            elapsed_ms,
            attempt,
        )
        return self._classify(response, idempotent, attempt)

    @contextmanager
    def _translate_errors(
        self, method: str, path: str, idempotent: bool, attempt: int
    ) -> Iterator[None]:
        """httpx exceptions -> ours. Nothing sent (connect failures) is always safe to retry.

        The exception's own text is dropped or masked (`redact`): h11 quotes an illegal header
        value, the key included, and no httpx exception is chained to ours.
        """
        where = redact(f"{method} {path}")
        try:
            yield
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Unreachable(
                f"{where}: could not connect ({type(exc).__name__})",
                vendor=self.vendor,
                attempts=attempt,
                url=f"{method} {self._address(path)}",
                host=redact(self._client.base_url.netloc.decode("ascii", "replace")),
                detail=_reason(exc),
            ) from None
        except (
            httpx.TimeoutException,
            httpx.NetworkError,
            httpx.RemoteProtocolError,
            TimeoutError,
        ) as exc:
            kind = TransientVendorError if idempotent else AmbiguousWriteError
            raise kind(
                f"{where}: no complete answer after sending ({type(exc).__name__}); "
                "the request may have been applied",
                vendor=self.vendor,
                attempts=attempt,
            ) from None
        except httpx.LocalProtocolError as exc:
            # Our request cannot be sent as built (e.g. a key with a newline in its header):
            # every request would fail alike.
            raise FatalVendorError(
                f"{where}: the request could not be sent ({type(exc).__name__}: "
                f"{redact(str(exc))}). {self.key_hint}",
                vendor=self.vendor,
                attempts=attempt,
            ) from None
        except httpx.HTTPError as exc:  # the rest (a body that cannot be decoded, ...)
            kind = TransientVendorError if idempotent else AmbiguousWriteError
            raise kind(
                f"{where}: {type(exc).__name__}: {redact(str(exc))}",
                vendor=self.vendor,
                attempts=attempt,
            ) from None

    def _address(self, path: str) -> str:
        """Where a request for `path` goes, as httpx joins it to the base URL: scheme, host,
        port and path; no query string, no user info; secrets masked."""
        base = self._client.base_url
        joined = base.path.rstrip("/") + "/" + path.split("?", 1)[0].lstrip("/")
        return redact(f"{base.scheme}://{base.netloc.decode('ascii', 'replace')}{joined}")

    def _classify(self, response: httpx.Response, idempotent: bool, attempt: int) -> Reply:
        status = response.status_code
        body = _json_or_none(response)
        if body is not None and self._own_key.found_in(response.content):
            body = self._own_key.json(body)  # the vendor echoed our key: mask it everywhere
        request_id = _request_id(response, body)
        if 200 <= status < 300:
            if body is None and response.content:
                kind = TransientVendorError if idempotent else AmbiguousWriteError
                raise kind(
                    redact(f"{response.request.method} {response.request.url.path}: ")
                    + f"answered {status} with a body that is not JSON",
                    vendor=self.vendor,
                    status=status,
                    request_id=request_id,
                    attempts=attempt,
                )
            self.limiter.succeeded()
            return Reply(status=status, body=body, request_id=request_id, attempts=attempt)
        raise self._error(status, body, response, request_id, idempotent, attempt)

    def _error(
        self,
        status: int,
        body: Any,
        response: httpx.Response,
        request_id: str | None,
        idempotent: bool,
        attempt: int,
    ) -> VendorError:
        code, message = _error_details(body, status)
        context: dict[str, Any] = dict(
            vendor=self.vendor, status=status, code=code, request_id=request_id, attempts=attempt
        )
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status == 429 or (status == 503 and retry_after is not None):
            return RateLimited(message, retry_after=retry_after, **context)
        if status in _GATEWAY_LOST and not idempotent:
            # A proxy gave up on the vendor's answer: the write may have been applied behind it.
            return AmbiguousWriteError(
                f"{message} (from a gateway; the request may have been applied)", **context
            )
        if status >= 500:
            return TransientVendorError(message, **context)
        if status in self.auth_statuses:
            return KeyRejected(
                f"the API key was rejected ({status} {message}). {self.key_hint}",
                reply=message,
                **context,
            )
        if status == 403:  # a valid key, refused this one thing (Octanist's filtering rules)
            return Forbidden(message, **{**context, "code": code or "FORBIDDEN"})
        if status == 404:
            return LeadNotFound(message, url=_address_of(response.request), **context)
        if status == 409:
            return LeadConflict(message, **context)
        return PermanentVendorError(message, **context)


# Gateway answers that say nothing of the vendor's own outcome: Bad Gateway (the upstream's
# reply was lost or broken) and Gateway Timeout (the proxy stopped waiting for it).
_GATEWAY_LOST = frozenset({502, 504})


def _address_of(request: httpx.Request) -> str:
    """`GET https://host:port/path` of a request sent: no query string, no user info, masked."""
    url = request.url
    return redact(
        f"{request.method} {url.scheme}://{url.netloc.decode('ascii', 'replace')}{url.path}"
    )


def _reason(exc: Exception) -> str:
    """The system's words for a failed connection (`ConnectError: [Errno 111] Connection
    refused`), first line only, masked and bounded."""
    said = str(exc).splitlines()[0].strip() if str(exc).strip() else ""
    kind = type(exc).__name__
    return redact(f"{kind}: {said[:200]}") if said else kind


def _json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _request_id(response: httpx.Response, body: Any) -> str | None:
    for header in _REQUEST_ID_HEADERS:
        if header in response.headers:
            return redact(response.headers[header])
    if isinstance(body, dict) and isinstance(body.get("meta"), dict):
        found = body["meta"].get("requestId")
        return redact(str(found)) if found else None
    return None


def _error_details(body: Any, status: int) -> tuple[str | None, str]:
    """(code, message) from the three vendors' error shapes, else the status line; every
    registered secret masked (some vendors quote the key they were sent)."""
    code, message = _vendor_words(body, status)
    return (redact(code) if isinstance(code, str) else code), redact(message)


def _vendor_words(body: Any, status: int) -> tuple[str | None, str]:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):  # Octanist: {success: false, error: {code, message, details}}
            return error.get("code"), str(error.get("message") or error.get("code") or status)
        if isinstance(error, str):  # Omni (undocumented; the sandbox's choice)
            return None, error
        if isinstance(body.get("message"), str):  # Apten
            return None, body["message"]
    return None, f"HTTP {status} {httpx.codes.get_reason_phrase(status)}".strip()
