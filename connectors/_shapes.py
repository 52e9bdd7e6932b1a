"""Answers the client does not expect: success bodies of the wrong shape, listings that never end.

Every 2xx body a client reads goes through a small check of the keys and types that client
uses before it touches them (the vendor modules hold one check per endpoint, built from the
helpers here). What is wrong becomes one line naming the vendor, the request and the problem,
and its type says what to do (`connectors.exceptions`):

- a read (get, list page, analytics page) that cannot be used stops the run:
  `VendorProtocolError` (`Answer.read`); a partial or garbled snapshot would be wrong;
- a write whose answer cannot be used fails its row: `UnexpectedAnswer` (`Answer.written`);
- a create answered without the new lead's id may still have made the lead:
  `AnswerWithoutId`, an `AmbiguousWriteError`, so the push looks it up by email/phone before
  anything is created again (`Answer.created_id`). Once the id is known, the rest of a create's
  echo is optional: a wrong echo is logged and dropped (`Answer.echo`), the lead exists.

`Listing` stops a listing that does not end: a page limit (`page_limit`: enough pages for
`MAX_LEADS` leads at the page size, twice over for re-read boundary pages), a position (token,
cursor and page) answered twice, or a page that says "more" but brings no lead not seen before.

    >>> answer = Answer("omni", "PUT", "/api/v1/leads", Reply(200, {"success": True}, None, 1))
    >>> answer.written(lambda body: need(top(body), "lead", OBJECT))
    Traceback (most recent call last):
    UnexpectedAnswer: omni: PUT /api/v1/leads answered 200 without a `lead` object
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from connectors._http import Reply
from connectors.exceptions import (
    AnswerWithoutId,
    UnexpectedAnswer,
    VendorError,
    VendorProtocolError,
)
from schemas.vendors import VendorSpec

__all__ = [
    "BOOL",
    "ID",
    "INT",
    "LIST",
    "MAX_LEADS",
    "NUMBER",
    "OBJECT",
    "TEXT",
    "Answer",
    "Kind",
    "Listing",
    "Wrong",
    "each_object",
    "lead_fields",
    "need",
    "page_limit",
    "top",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The most leads one listing may need to read; a listing past it is taken to be endless.
MAX_LEADS = 100_000_000


class Wrong(Exception):
    """What is wrong with an answer, in words that follow "answered 200 ..."."""


@dataclass(frozen=True)
class Kind:
    """A JSON type a check expects: its name in messages and the Python types it arrives as."""

    noun: str
    types: tuple[type, ...]
    non_empty: bool = False
    expected: str = ""  # what a wrong value should have been; default: a/an noun

    def wanted(self) -> str:
        return self.expected or _a(self.noun)

    def holds(self, value: Any) -> bool:
        if isinstance(value, bool) and bool not in self.types:
            return False  # JSON true/false is no number
        return isinstance(value, self.types) and not (self.non_empty and value == "")


OBJECT = Kind("object", (dict,))
LIST = Kind("array", (list,))
TEXT = Kind("string", (str,))
ID = Kind("string", (str,), non_empty=True, expected="a non-empty string")
BOOL = Kind("boolean", (bool,))
NUMBER = Kind("number", (int, float))
INT = Kind("whole number", (int,))


def _a(word: str) -> str:
    return f"an {word}" if word.lstrip("`")[:1].lower() in "aeio" else f"a {word}"


def describe(value: Any) -> str:
    """A JSON value's type, as a message says it ("null", "an array", "an empty string")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "an empty string" if value == "" else "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def top(body: Any) -> dict[str, Any]:
    """The body as a JSON object."""
    if isinstance(body, dict):
        return body
    if body is None:
        raise Wrong("with an empty body instead of a JSON object")
    raise Wrong(f"with {describe(body)} instead of a JSON object")


def need(
    parent: Mapping[str, Any],
    key: str,
    kind: Kind,
    *,
    at: str = "",
    optional: bool = False,
    nullable: bool = False,
) -> Any:
    """`parent[key]` when it is of `kind`. `optional`: it may be missing or null (None is
    returned); `nullable`: it must be there but may be null. `at` names the parent in messages."""
    name = f"{at}.{key}" if at else key
    if key not in parent:
        if optional:
            return None
        raise Wrong(f"without {_a(f'`{name}`')} {kind.noun}{' or null' if nullable else ''}")
    value = parent[key]
    if value is None and (optional or nullable):
        return None
    if not kind.holds(value):
        raise Wrong(f"with `{name}` {describe(value)} instead of {kind.wanted()}")
    return value


def each_object(items: list[Any], at: str) -> list[dict[str, Any]]:
    """The entries of an array that must hold objects only."""
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise Wrong(f"with `{at}[{i}]` {describe(item)} instead of an object")
    return items


# Canonical fields a lead object may carry that are not text (everything else read is text).
_FIELD_KINDS: dict[str, Kind] = {
    "opted_out": BOOL,
    "email_verified": BOOL,
    "value": NUMBER,
    "custom": OBJECT,  # Apten's additionalInfo: an object of any values
    "checklist": LIST,  # Omni keeps it beside the lead; checked there
}


def lead_fields(spec: VendorSpec, lead: Mapping[str, Any], at: str) -> None:
    """The lead object's fields the client reads (`spec.read`, and its change stamp) have the
    types the snapshot stores; a null is always fine. The id is checked by the caller."""
    for key, canonical in spec.read.items():
        if key == "id" or lead.get(key) is None:
            continue
        value, name = lead[key], f"{at}.{key}" if at else key
        if canonical == "tags":
            for i, tag in enumerate(need(lead, key, LIST, at=at)):
                if not (isinstance(tag, str) or (isinstance(tag, dict) and _named(tag))):
                    raise Wrong(f"with `{name}[{i}]` {describe(tag)} instead of a tag name")
        elif canonical == "value" and isinstance(value, str):
            try:
                float(value)
            except ValueError:
                raise Wrong(f"with `{name}` a string that is not a number") from None
        else:
            need(lead, key, _FIELD_KINDS.get(canonical, TEXT), at=at)
    need(lead, "updatedAt", TEXT, at=at, optional=True)


def _named(tag: Mapping[str, Any]) -> bool:
    return isinstance(tag.get("name"), str)


@dataclass(frozen=True)
class Answer:
    """One 2xx reply of `method path`, checked before the client uses it."""

    vendor: str
    method: str
    path: str
    reply: Reply

    def read(self, check: Callable[[Any], T]) -> T:
        """`check(body)` for a read: a wrong shape stops the run (`VendorProtocolError`)."""
        try:
            return check(self.reply.body)
        except Wrong as wrong:
            raise self._error(VendorProtocolError, wrong, "unexpected_answer") from None

    def written(self, check: Callable[[Any], T]) -> T:
        """`check(body)` for a write: a wrong shape fails the row (`UnexpectedAnswer`)."""
        try:
            return check(self.reply.body)
        except Wrong as wrong:
            raise self._error(UnexpectedAnswer, wrong, "unexpected_answer") from None

    def created_id(self, check: Callable[[Any], str]) -> str:
        """The new lead's id, `check(body)`: without it the lead may exist all the same
        (`AnswerWithoutId`, ambiguous: the push looks it up before creating anything again)."""
        try:
            return check(self.reply.body)
        except Wrong as wrong:
            raise self._error(AnswerWithoutId, wrong, AnswerWithoutId.code_name) from None

    def echo(self, check: Callable[[Any], T]) -> T | None:
        """`check(body)` for what a create echoes beside the id it gave: a wrong echo is
        logged and dropped (None); the lead exists, and its row is still created."""
        try:
            return check(self.reply.body)
        except Wrong as wrong:
            logger.warning(
                "%s: %s %s answered %d %s; the new lead's echo was not used",
                self.vendor,
                self.method,
                self.path,
                self.reply.status,
                wrong,
            )
            return None

    def _error(self, kind: type[VendorError], wrong: Wrong, code: str) -> VendorError:
        return kind(
            f"{self.method} {self.path} answered {self.reply.status} {wrong}",
            vendor=self.vendor,
            status=self.reply.status,
            code=code,
            request_id=self.reply.request_id,
            attempts=self.reply.attempts,
        )


def page_limit(page_size: int) -> int:
    """The pages a listing of `page_size` leads per page may read: `MAX_LEADS` leads, twice
    over (a cursor that restarts may re-read a page of boundary rows), and a few to spare."""
    return 2 * math.ceil(MAX_LEADS / page_size) + 10


class Listing:
    """Stops one listing that does not end; call `more` after each page that says "more".

    `request` names it ("GET /leads"), `more` says how it says "more" ("hasMore", "a
    nextToken"), `repeat` what a position answered twice looks like; `start` is the first
    page's position. A page must bring a lead not seen before, except that `may_repeat` lets
    one page in a row bring only leads already seen (Octanist re-reads its cursor's boundary).
    """

    def __init__(
        self,
        vendor: str,
        request: str,
        *,
        more: str,
        repeat: str,
        limit: int,
        start: Hashable = None,
    ) -> None:
        self.vendor, self.request, self.more_word, self.repeat = vendor, request, more, repeat
        self.limit = limit
        self.pages = 0  # pages answered so far
        self._positions: set[Hashable] = {start}
        self._stale = False  # the last page brought nothing new

    def answered(self) -> None:
        """Count a page answered."""
        self.pages += 1

    def more(self, new: int, position: Hashable, *, may_repeat: bool = False) -> None:
        """The page just answered says "more", brought `new` leads not seen before, and
        points at `position`: raise `VendorProtocolError` if the listing is not progressing."""
        if position in self._positions:
            raise self._stop(self.repeat)
        if new == 0 and (self._stale or not may_repeat):
            raise self._stop(f"kept answering {self.more_word} with no new leads")
        if self.pages >= self.limit:
            raise self._stop(
                f"was still answering {self.more_word} after {self.pages:,} pages (more than "
                f"{MAX_LEADS:,} leads need)"
            )
        self._positions.add(position)
        self._stale = new == 0

    def _stop(self, what: str) -> VendorProtocolError:
        return VendorProtocolError(
            f"{self.request} {what} (page {self.pages}); the listing was stopped",
            vendor=self.vendor,
            code="endless_listing",
        )
