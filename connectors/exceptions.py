"""Errors of the vendor connectors: each says what the caller should do.

    ImporterError (schemas.exceptions)
    └── VendorError                     any failed call; carries vendor, status, code, request id
        │                               and the request's address (`url`, when it is known)
        ├── TransientVendorError        retry later: 429, 5xx, timeouts, connection resets
        │   ├── RateLimited             429 (or 503) with the delay the vendor asked for
        │   └── Unreachable             no connection to the vendor's host (refused, no such
        │                               host, connect timeout): nothing was sent
        ├── AmbiguousWriteError         a non-idempotent write may or may not have happened
        │   │                           (timeout or reset after sending): look before re-creating
        │   └── AnswerWithoutId         a create answered 2xx without the new lead's id: the
        │                               lead may exist; it is looked up, never taken as created
        ├── PermanentVendorError        this row will not succeed as sent: record it, move on
        │   ├── LeadNotFound            404 (shown with the address: a wrong base_url is a 404)
        │   ├── LeadConflict            409 (e.g. Octanist: several leads match)
        │   ├── Forbidden               403 that is not about the key (Octanist FORBIDDEN: a
        │   │                           lead its organisation's filtering rules refuse)
        │   └── UnexpectedAnswer        a write answered 2xx with a body the client cannot use
        │                               (wrong shape): this row fails
        ├── FatalVendorError (exit 3)   the run cannot go on
        │   ├── KeyRejected             the vendor's auth-failure status (Octanist 401; Apten
        │   │                           and Omni 401/403): bad or missing key
        │   ├── BudgetUnavailable       the Prefect API holding the global rate budget fails
        │   └── VendorProtocolError     a read answered 2xx with a body the client cannot use,
        │                               or a listing that does not end (a partial snapshot
        │                               would be wrong)
        └── PayloadRejected             refused before sending: the vendor cannot do this
    CannotProceedError (schemas.exceptions)
    └── JournalUnavailable (exit 3)     the journal database cannot be opened or written

Which statuses mean "the key was rejected" is a vendor fact (`connectors._profile.AUTH_STATUSES`):
a 403 means a bad key at Apten (API Gateway) but "not allowed" at Octanist, where it is a row's
outcome, not a reason to stop. httpx's exceptions are translated into these in one place
(`connectors._http`), the journal
database's in `connectors._journal`. Messages never carry the API key, the journal's password or
request bodies. Which 2xx bodies a client can use is checked in one place (`connectors._shapes`).

What a person reads (`str(exc)`) names the host and the path where it helps them act (could not
connect, 404); `vendor_message` stays the short text a report row keeps. Addresses carry no
query string and no user info, and are masked (`connectors._redact`) by the HTTP layer.
"""

from __future__ import annotations

from schemas.exceptions import CannotProceedError, ImporterError

__all__ = [
    "AmbiguousWriteError",
    "AnswerWithoutId",
    "BudgetUnavailable",
    "FatalVendorError",
    "Forbidden",
    "JournalUnavailable",
    "KeyRejected",
    "LeadConflict",
    "LeadNotFound",
    "PayloadRejected",
    "PermanentVendorError",
    "RateLimited",
    "TransientVendorError",
    "UnexpectedAnswer",
    "Unreachable",
    "VendorError",
    "VendorProtocolError",
]


class VendorError(ImporterError):
    """A vendor call that did not succeed."""

    def __init__(
        self,
        message: str,
        *,
        vendor: str,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        attempts: int = 1,
        url: str | None = None,
    ) -> None:
        super().__init__(f"{vendor}: {message}")
        self.vendor = vendor
        self.status = status
        self.code = code
        self.vendor_message = message
        self.request_id = request_id
        self.attempts = attempts
        # `GET https://host:port/path`: the method and the address, no query, no user info
        self.url = url


class TransientVendorError(VendorError):
    """Worth retrying: the same request may succeed later."""


class RateLimited(TransientVendorError):
    """The vendor asked us to slow down; `retry_after` is its delay in seconds, if it gave one."""

    def __init__(self, message: str, *, retry_after: float | None, **context: object) -> None:
        super().__init__(message, **context)  # type: ignore[arg-type]
        self.retry_after = retry_after


class Unreachable(TransientVendorError):
    """No connection to the vendor's host (refused, unknown host, connect timeout): nothing
    was sent, so even a create may be tried again. Shown with the host and the address, and
    the system's reason (`detail`), since a wrong base_url or port is the usual cause."""

    def __init__(self, message: str, *, host: str, detail: str, **context: object) -> None:
        super().__init__(message, **context)  # type: ignore[arg-type]
        self.host = host
        self.detail = detail

    def __str__(self) -> str:
        where = self.url or self.vendor_message.split(":", 1)[0]
        return (
            f"{self.vendor}: {where}: could not connect to {self.host} ({self.detail}); check "
            "the target's base_url and that this machine can reach it"
        )


class AmbiguousWriteError(VendorError):
    """A create (or other non-idempotent write) may have been applied: never resend blindly."""


class AnswerWithoutId(AmbiguousWriteError):
    """A create answered 2xx without the new lead's id (or with a body that has no room for
    one): the vendor may have made the lead, so it is looked up by its email/phone before
    anything is created again; a row is never reported created without its lead's id."""

    code_name = "no_id_in_answer"  # its `code`, and the journaled error code


class PermanentVendorError(VendorError):
    """The vendor refused this request as sent; retrying will not help."""


class LeadNotFound(PermanentVendorError):
    """No lead with that id (or match key); or, for a listing, no such route (a base_url that
    is not the vendor's API), which is why it is shown with the address it was asked at."""

    def __str__(self) -> str:
        if self.url is None:
            return super().__str__()
        words = self.vendor_message
        said = words.removeprefix("HTTP ") if words.startswith("HTTP 404") else f"404: {words}"
        return f"{self.vendor}: {self.url} answered {said}"


class LeadConflict(PermanentVendorError):
    """The request matches several leads, or collides with another lead."""


class Forbidden(PermanentVendorError):
    """A valid key, but the vendor will not do this (Octanist 403 FORBIDDEN, e.g. a lead its
    organisation's filtering rules reject): this row fails, the others go on."""

    def __str__(self) -> str:
        # Shown alone when a read is refused (the run stops): say what kind of no it was.
        return f"{self.vendor}: refused ({self.status} {self.code}): {self.vendor_message}"


class UnexpectedAnswer(PermanentVendorError):
    """A write answered 2xx with a body the client cannot use (`data: null`, a bare array, no
    `lead` object): the row fails with what was wrong; the other rows go on."""


class FatalVendorError(VendorError, CannotProceedError):
    """The run cannot go on (a rejected key, a lost rate budget): stop after the first one."""

    exit_code = 3


class KeyRejected(FatalVendorError):
    """The vendor answered one of its auth-failure statuses: every request would fail alike.

    `reply` is the vendor's own message (the exception's message adds what to do).
    """

    def __init__(self, message: str, *, reply: str, **context: object) -> None:
        super().__init__(message, **context)  # type: ignore[arg-type]
        self.reply = reply


class BudgetUnavailable(FatalVendorError):
    """The global rate budget (a Prefect concurrency limit) cannot be reached or is gone:
    sending without it could exceed the vendor's limit N times over, so the run stops."""


class VendorProtocolError(FatalVendorError):
    """A read answered 2xx with a body the client cannot use, or a listing that does not end
    (`hasMore` forever, a `nextToken` answered twice, pages of nothing new): the run stops,
    since a partial or garbled snapshot of the target would plan wrong writes."""


class PayloadRejected(VendorError):
    """Refused before sending: the vendor cannot do what this row asks."""


class JournalUnavailable(CannotProceedError):
    """The journal database cannot be reached or written; the message names the host only."""
