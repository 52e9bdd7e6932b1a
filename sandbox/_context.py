"""``Sandbox``: every state object of one app (store, RNG, clock, faults, log, backends).

``create_app`` builds one per app; nothing is module-global. The admin routes and the
fault layer reach state only through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sandbox._backend import VendorBackend
from sandbox._faults import FaultInjector, FaultSettings
from sandbox._random import SandboxRandom
from sandbox._requestlog import RequestLog
from sandbox._store import Store
from sandbox._types import VENDORS, Clock, Monotonic, Vendor
from sandbox.apten.backend import AptenBackend
from sandbox.octanist.backend import OctanistBackend
from sandbox.omni.backend import OmniBackend


@dataclass
class Sandbox:
    """The state of one sandbox app."""

    store: Store
    rng: SandboxRandom
    now: Clock
    faults: FaultInjector
    log: RequestLog
    omni: OmniBackend
    apten: AptenBackend
    octanist: OctanistBackend
    default_key: str
    api_keys: dict[Vendor, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        db: str | Path | None,
        *,
        seed: int,
        api_key: str,
        faults: Mapping[Vendor, FaultSettings],
        now: Clock,
        monotonic: Monotonic,
    ) -> Sandbox:
        """Open the store, make the backends and install missing defaults."""
        store, rng = Store(db), SandboxRandom(seed)
        sandbox = cls(
            store=store,
            rng=rng,
            now=now,
            faults=FaultInjector(rng, monotonic, faults),
            log=RequestLog(),
            omni=OmniBackend(store, rng, now),
            apten=AptenBackend(store, rng, now),
            octanist=OctanistBackend(store, rng, now),
            default_key=api_key,
        )
        sandbox.api_keys = dict.fromkeys(VENDORS, api_key)
        sandbox.install_defaults()
        return sandbox

    def backend(self, vendor: Vendor) -> VendorBackend:
        """The vendor's backend."""
        backends: dict[Vendor, VendorBackend] = {
            "omni": self.omni,
            "apten": self.apten,
            "octanist": self.octanist,
        }
        return backends[vendor]

    def install_defaults(self) -> None:
        """Each backend writes whatever fresh-sandbox settings are missing."""
        with self.store.transaction():
            for vendor in VENDORS:
                self.backend(vendor).install_defaults()

    def reset(self) -> None:
        """A fresh sandbox: no leads, default settings and keys, initial faults, empty log,
        the RNG back at its seed (so ids repeat run to run)."""
        self.store.clear()
        self.rng.reseed()
        self.install_defaults()
        self.faults.reset()
        self.log.clear()
        self.api_keys = dict.fromkeys(VENDORS, self.default_key)

    def key_of(self, vendor: Vendor) -> str:
        """The API key the vendor currently accepts."""
        return self.api_keys[vendor]
