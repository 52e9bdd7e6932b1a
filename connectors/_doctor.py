"""`leadpipe doctor`: can this target be used? Checked without changing any lead.

Three checks in order, each a request or a few through the client's `http.send` (so the
profile's key header, pacing and retries are the ones an import uses):

- auth: a request any valid key may make (Octanist POST /check; Apten a list of the leads
  updated since now; Omni analytics from now on: both answer nothing, quickly);
- listing: one page of the feed the snapshot reads (GET /leads; Omni's analytics);
- update route: the vendor's update for a lead id that cannot exist, with a body that changes
  nothing. A 404 means the route is there. Apten's route is a guess (`apten_update_route`),
  and API Gateway answers a route it does not know with 403, as it does a bad key; once auth
  has passed, a 403 there means the route is wrong, so the other candidates are tried and
  the one that answers is named, with the config line that selects it.

After a failed auth check the others are skipped: every request would fail the same way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from connectors._client import LeadClient
from connectors._http import Reply, VendorHTTP
from connectors._profile import APTEN_UPDATE_ROUTES, TargetProfile
from connectors.exceptions import KeyRejected, LeadNotFound, VendorError

__all__ = ["DOCTOR_LEAD_ID", "Diagnosis", "DoctorCheck", "diagnose"]

# An id no vendor hands out: the update probe must find no lead to change.
DOCTOR_LEAD_ID = "leadpipe-doctor-0"
_EPOCH = "1970-01-01T00:00:00Z"
_CHECKS = ("auth", "listing", "update route")

Status = Literal["ok", "failed", "skipped"]
_MARKS = {"ok": "✓", "failed": "✗", "skipped": "-"}


@dataclass(frozen=True)
class DoctorCheck:
    """One check's outcome: what was seen, and what to do when it failed."""

    name: str
    status: Status
    detail: str
    fix: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "ok"

    def line(self) -> str:
        """`✓ auth: POST /check answered 200; the key is accepted` (`→ what to do` on a ✗)."""
        fix = f" → {self.fix}" if self.fix else ""
        return f"{_MARKS[self.status]} {self.name}: {self.detail}{fix}"


@dataclass(frozen=True)
class Diagnosis:
    """Every check of one target; `update_route` is the Apten route that answered, if any."""

    target: str
    vendor: str
    checks: tuple[DoctorCheck, ...]
    update_route: str | None = None

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "checks": [asdict(c) for c in self.checks], "ok": self.ok}


@dataclass(frozen=True)
class _Call:
    """One probe request; `label` names it in the output (Apten: the route's template)."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    label: str = field(default="")

    def __str__(self) -> str:
        return self.label or f"{self.method} {self.path}"


def _auth_call(vendor: str, now: str) -> _Call:
    return {
        "octanist": _Call("POST", "/check"),
        "apten": _Call("GET", "/leads", {"limit": 1, "updatedSince": now}),
        "omni": _Call("GET", "/api/v0/analytics", {"format": "json", "start": now}),
    }[vendor]


# One page of each vendor's feed, and the key of its list in the answer.
_LISTING = {
    "octanist": (_Call("GET", "/leads", {"limit": 1, "page": 1, "sort": "updatedAt:asc"}), "data"),
    "apten": (_Call("GET", "/leads", {"limit": 1, "updatedSince": _EPOCH}), "leads"),
    "omni": (_Call("GET", "/api/v0/analytics", {"format": "json"}), "breakdown"),
}
_UPDATE = {
    "octanist": _Call("PATCH", "/leads", body={"id": DOCTOR_LEAD_ID}),
    "omni": _Call("PUT", "/api/v1/leads", body={"leadId": DOCTOR_LEAD_ID}),
}


async def diagnose(
    client: LeadClient, profile: TargetProfile, *, now: datetime | None = None
) -> Diagnosis:
    """Run the checks against `profile`'s target through `client` (see the module docstring)."""
    http, vendor = client.http, profile.vendor
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    auth = await _check_auth(http, _auth_call(vendor, stamp))
    if not auth.passed:
        skipped = [DoctorCheck(n, "skipped", "not checked: auth failed") for n in _CHECKS[1:]]
        return Diagnosis(profile.name, vendor, (auth, *skipped))
    listing = await _check_listing(http, *_LISTING[vendor])
    if vendor == "apten":
        route, working = await _check_apten_route(http, profile)
    else:
        route, working = await _check_route(http, _UPDATE[vendor]), None
    return Diagnosis(profile.name, vendor, (auth, listing, route), working)


async def _answer(http: VendorHTTP, call: _Call) -> Reply | VendorError:
    """The reply, or the error it came to (after the usual retries): never raises ours."""
    try:
        return await http.send(
            call.method, call.path, json_body=call.body, params=call.params, idempotent=True
        )
    except VendorError as exc:
        return exc


def _said(call: _Call, exc: VendorError) -> str:
    """`GET /leads answered 403 Forbidden`, or why no answer came."""
    if exc.status is None:
        return exc.vendor_message  # it names the request: "POST /check: could not connect ..."
    words = exc.reply if isinstance(exc, KeyRejected) else exc.vendor_message
    return f"{call} answered {exc.status} {words}"


async def _check_auth(http: VendorHTTP, call: _Call) -> DoctorCheck:
    answer = await _answer(http, call)
    if isinstance(answer, Reply):
        return DoctorCheck("auth", "ok", f"{call} answered {answer.status}; the key is accepted")
    if isinstance(answer, KeyRejected):
        fix = http.key_hint
        if http.vendor == "apten":
            fix += " (API Gateway answers 403 for a path it does not know too: check base_url)"
        return DoctorCheck("auth", "failed", _said(call, answer), fix)
    if answer.status is None:
        fix = "check base_url and that this machine can reach it"
        return DoctorCheck("auth", "failed", _said(call, answer), fix)
    return DoctorCheck(
        "auth", "failed", _said(call, answer), "check base_url and the vendor's answer"
    )


async def _check_listing(http: VendorHTTP, call: _Call, key: str) -> DoctorCheck:
    answer = await _answer(http, call)
    if not isinstance(answer, Reply):
        return DoctorCheck("listing", "failed", _said(call, answer), "an import reads this first")
    rows = answer.body.get(key) if isinstance(answer.body, dict) else None
    if not isinstance(rows, list):
        detail = f"{call} answered {answer.status} without a `{key}` list"
        return DoctorCheck("listing", "failed", detail, "check base_url: is it the vendor's API?")
    shown = f"{len(rows)} lead" + ("" if len(rows) == 1 else "s")
    return DoctorCheck("listing", "ok", f"{call} answered {answer.status} ({shown} on page 1)")


def _found(answer: Reply | VendorError) -> bool:
    """The route exists: the vendor looked for the lead (404), or even answered 2xx."""
    return isinstance(answer, Reply | LeadNotFound)


def _route_seen(call: _Call, answer: Reply | VendorError) -> str:
    status = answer.status
    return f"{call} answered {status}" + (" for a lead that cannot exist" if status == 404 else "")


async def _check_route(http: VendorHTTP, call: _Call) -> DoctorCheck:
    answer = await _answer(http, call)
    if _found(answer):
        return DoctorCheck("update route", "ok", f"{_route_seen(call, answer)}; the route is there")
    assert isinstance(answer, VendorError)
    fix = "updates would fail the same way: see the vendor's answer"
    return DoctorCheck("update route", "failed", _said(call, answer), fix)


def _apten_call(route: str) -> _Call:
    method, template = route.split(" ", 1)
    return _Call(method, template.format(id=DOCTOR_LEAD_ID), body={}, label=route)


async def _check_apten_route(
    http: VendorHTTP, profile: TargetProfile
) -> tuple[DoctorCheck, str | None]:
    """The configured route; when it answers 403 (auth passed: API Gateway does not know the
    route), the other candidates, naming the first that answers and the line that selects it."""
    configured = profile.apten_update_route
    call = _apten_call(configured)
    answer = await _answer(http, call)
    if _found(answer):
        found = DoctorCheck(
            "update route", "ok", f"{_route_seen(call, answer)}; the route is there"
        )
        return found, configured
    assert isinstance(answer, VendorError)
    refused = _said(call, answer)
    if answer.status != 403:
        fix = "updates would fail the same way: see Apten's answer"
        return DoctorCheck("update route", "failed", refused, fix), None
    for route in (r for r in APTEN_UPDATE_ROUTES if r != configured):
        other = _apten_call(route)
        if _found(reply := await _answer(http, other)):
            detail = f"{refused}; {_route_seen(other, reply)}: that is the route"
            fix = f'put apten_update_route = "{route}" in [targets.{profile.name}]'
            return DoctorCheck("update route", "failed", detail, fix), route
    others = ", ".join(r for r in APTEN_UPDATE_ROUTES if r != configured)
    detail = f"{refused}; no other candidate answered either ({others})"
    fix = 'ask Apten for the method and path of "Update lead"'
    return DoctorCheck("update route", "failed", detail, fix), None
