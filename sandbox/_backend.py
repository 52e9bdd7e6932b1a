"""What the three vendor backends share: the store, the app's RNG, the clock, ids.

A backend holds a vendor's state and rules and knows nothing of HTTP. Subclasses say how to
make an id and which email/phone keys a record is indexed by.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from sandbox._errors import InvalidInput, NotFound
from sandbox._fields import as_object
from sandbox._random import SandboxRandom
from sandbox._store import LeadRow, Store
from sandbox._time import format_ts, normalise_ts
from sandbox._types import JSON, Clock, Vendor


class VendorBackend(ABC):
    """Base of ``OmniBackend``, ``AptenBackend`` and ``OctanistBackend``."""

    vendor: Vendor

    def __init__(self, store: Store, rng: SandboxRandom, now: Clock) -> None:
        self.store = store
        self.rng = rng
        self.now = now

    @abstractmethod
    def install_defaults(self) -> None:
        """Write the vendor's fresh-sandbox settings (called when they are missing)."""

    @abstractmethod
    def _make_id(self) -> str:
        """A candidate id in the vendor's format (drawn from the app RNG)."""

    @abstractmethod
    def _keys(self, record: JSON) -> tuple[str | None, str | None]:
        """The (email key, phone key) a record is matched by."""

    @abstractmethod
    def _seed_one(self, entry: JSON) -> str:
        """Store one vendor-shaped lead from the admin seed, returning its id."""

    def seed(self, leads: list[JSON]) -> list[str]:
        """Bulk-load vendor-shaped leads (admin) in one transaction, returning their ids."""
        ids: list[str] = []
        with self.store.transaction():
            for index, entry in enumerate(leads):
                try:
                    ids.append(self._seed_one(as_object(entry, "lead")))
                except InvalidInput as exc:
                    raise InvalidInput(f"leads[{index}]: {exc.message}") from exc
        return ids

    def timestamp(self) -> str:
        """The clock's current time in the stored format."""
        return format_ts(self.now())

    def new_id(self) -> str:
        """A fresh id; draws again on a clash (a reopened database may hold earlier ids)."""
        while True:
            candidate = self._make_id()
            if not self.store.exists(self.vendor, candidate):
                return candidate

    def save(self, record: JSON, *, new: bool = False) -> None:
        """Insert or overwrite ``record`` (it carries ``id``, ``createdAt``, ``updatedAt``)."""
        email, phone = self._keys(record)
        row = LeadRow(record["id"], record["createdAt"], record["updatedAt"], email, phone, record)
        if new:
            self.store.insert(self.vendor, row)
        else:
            self.store.replace(self.vendor, row)

    def raw(self, lead_id: str) -> JSON:
        """The stored record with internal fields (admin view)."""
        record = self.store.get(self.vendor, lead_id)
        if record is None:
            raise NotFound(f"Lead {lead_id} not found")
        return record

    def seed_id(self, entry: JSON) -> str:
        """The id a seeded lead asks for (must be new), or a fresh one."""
        wanted = entry.get("id")
        if wanted is None:
            return self.new_id()
        if not isinstance(wanted, str) or not wanted:
            raise InvalidInput("id must be a non-empty string")
        if self.store.exists(self.vendor, wanted):
            raise InvalidInput(f"id {wanted} already exists")
        return wanted

    def seed_times(self, entry: JSON, created_key: str, updated_key: str) -> tuple[str, str]:
        """``(createdAt, updatedAt)`` of a seeded lead: given ISO values or now."""
        created = seed_timestamp(entry.get(created_key), created_key) or self.timestamp()
        updated = seed_timestamp(entry.get(updated_key), updated_key) or created
        return created, updated


def seed_timestamp(value: object, name: str) -> str | None:
    """A seeded ISO timestamp in the stored format (None stays None)."""
    if value is None:
        return None
    parsed = normalise_ts(value) if isinstance(value, str) else None
    if parsed is None:
        raise InvalidInput(f"{name} must be an ISO 8601 timestamp")
    return parsed
