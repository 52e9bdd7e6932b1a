"""Target profiles: where a vendor lives and how hard we may push it. Read once, passed down.

A profile comes from `[targets.NAME]` in leadpipe.toml (or a built-in `sandbox:<vendor>`):

    [targets.octanist-prod]
    vendor = "octanist"
    base_url = "https://octanist.com/api"
    api_key_env = "OCTANIST_API_KEY"
    rate_limit_per_s = 5
    concurrency = 8
    check_before_create = true   # search each create's lead first (Octanist; a request each)
    customer_profile = "Sales"   # Apten: the profile of a new lead the file does not name

The key is read from the named environment variable, or from a Prefect `Secret` block
(`api_key_block = "octanist-prod-key"`); never from the file itself. TLS certificates are
always verified unless `verify_tls = false` (logged as a warning), and a `base_url` with plain
http is refused for any host but loopback unless `allow_http = true`.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass, field
from typing import Any, cast

import httpx

from connectors._secrets import Secret
from schemas.exceptions import UsageError

__all__ = [
    "APTEN_UPDATE_ROUTES",
    "AUTH_STATUSES",
    "DEFAULT_BASE_URLS",
    "SANDBOX_API_KEY",
    "TargetProfile",
    "api_key_for",
    "key_hint",
    "sandbox_profile",
]

DEFAULT_BASE_URLS = {
    "omni": "https://api-v2.getomni.ai",
    "apten": "https://api.attent.app/v1",
    "octanist": "https://octanist.com/api",
}
# Where each vendor lives inside the sandbox (DESIGN.md, "Sandbox HTTP layout").
SANDBOX_PREFIXES = {"omni": "/omni", "apten": "/apten/v1", "octanist": "/octanist/api"}
SANDBOX_API_KEY = "sandbox-key"
SANDBOX_APTEN_PROFILE = "Default"
AUTH_HEADERS = {"omni": "x-api-key", "apten": "x-api-key", "octanist": "X-API-KEY"}
# The statuses by which each vendor says "this key is missing or wrong" (the run stops). Octanist
# answers 401 for that and 403 FORBIDDEN for a valid key that may not do something (a lead its
# filtering rules refuse): a row's failure. Apten's docs name 403 (API Gateway; third-party
# clients also see 401). Omni's docs name 401 only; an undocumented 403 is taken as a key problem.
AUTH_STATUSES: dict[str, frozenset[int]] = {
    "omni": frozenset({401, 403}),
    "apten": frozenset({401, 403}),
    "octanist": frozenset({401}),
}
# Apten's docs do not show the update method and path; the sandbox accepts all three.
APTEN_UPDATE_ROUTES = ("PATCH /leads/{id}", "PUT /leads/{id}", "POST /leads/{id}/update")
logger = logging.getLogger(__name__)

DEFAULT_RATE_LIMIT_PER_S = 10.0
_NOT_CONFIG = ("name", "sandbox_key", "rate_budget")  # fields the config file cannot set
DEFAULT_CONCURRENCY = 8


class ProfileError(UsageError):
    """A target profile is incomplete or names something unknown."""


@dataclass(frozen=True)
class TargetProfile:
    """One target system: vendor, address, key source and limits."""

    name: str
    vendor: str
    base_url: str
    api_key_env: str | None = None
    api_key_block: str | None = None
    rate_limit_per_s: float = DEFAULT_RATE_LIMIT_PER_S
    burst: int | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    apten_update_route: str = APTEN_UPDATE_ROUTES[0]
    # TLS certificates are checked unless a profile says otherwise (a warning is logged).
    verify_tls: bool = True
    # Plain http is refused for anything but loopback unless a profile allows it.
    allow_http: bool = False
    # A literal key only for the built-in sandbox profiles; real targets use api_key_env.
    sandbox_key: Secret | None = field(default=None, repr=False)
    # Search for each create's lead (by its email, else phone) just before making it: a request
    # per create. Only where the vendor has a search (Octanist); Omni and Apten can only scan.
    check_before_create: bool = False
    # Apten: the customer profile (its name) of a new lead whose row names none.
    customer_profile: str | None = None
    # The Prefect global concurrency limit every worker's requests to this target draw from
    # (`leadpipe-rate-<name>`); set by flows when a Prefect API is in play, not by the config.
    rate_budget: str | None = None

    def __post_init__(self) -> None:
        if self.vendor not in DEFAULT_BASE_URLS:
            raise ProfileError(
                f"target {self.name}: unknown vendor {self.vendor!r} (omni, apten, octanist)"
            )
        if self.apten_update_route not in APTEN_UPDATE_ROUTES:
            raise ProfileError(
                f"target {self.name}: apten_update_route must be one of "
                + ", ".join(APTEN_UPDATE_ROUTES)
            )
        url = httpx.URL(self.base_url)
        if url.scheme not in ("https", "http") or not url.host:
            raise ProfileError(f"target {self.name}: base_url {self.base_url!r} is not a URL")
        if url.scheme == "http" and not _loopback(url.host) and not self.allow_http:
            raise ProfileError(
                f"target {self.name}: base_url uses plain http for {url.host}; the API key "
                "would travel unencrypted. Use https, or set allow_http = true in the profile"
            )
        if not self.verify_tls:
            logger.warning(
                "target %s: TLS certificate verification is OFF (verify_tls = false)", self.name
            )
        if self.check_before_create not in (True, False):
            raise ProfileError(f"target {self.name}: check_before_create must be true or false")
        if self.customer_profile is not None and self.vendor != "apten":
            raise ProfileError(f"target {self.name}: customer_profile is an Apten setting")
        if self.customer_profile is not None and not str(self.customer_profile).strip():
            raise ProfileError(f"target {self.name}: customer_profile is empty")
        if self.rate_limit_per_s <= 0 or self.concurrency < 1:
            raise ProfileError(
                f"target {self.name}: rate_limit_per_s and concurrency must be positive"
            )

    @classmethod
    def from_config(cls, name: str, table: dict[str, Any]) -> TargetProfile:
        vendor = table.get("vendor")
        if not isinstance(vendor, str):
            raise ProfileError(f"target {name}: `vendor` is required (omni, apten or octanist)")
        known = {f for f in cls.__dataclass_fields__ if f not in _NOT_CONFIG}
        unknown = set(table) - known
        if unknown:
            raise ProfileError(f"target {name}: unknown setting(s) {', '.join(sorted(unknown))}")
        return cls(name=name, **{"base_url": DEFAULT_BASE_URLS.get(vendor, ""), **table})


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def sandbox_profile(vendor: str, base_url: str) -> TargetProfile:
    """The built-in `sandbox:<vendor>` profile against a sandbox at `base_url`."""
    return TargetProfile(
        name=f"sandbox:{vendor}",
        vendor=vendor,
        base_url=base_url.rstrip("/") + SANDBOX_PREFIXES[vendor],
        # The sandbox has no rate limit unless one is injected: ours must not be the ceiling.
        rate_limit_per_s=1000.0,
        burst=64,
        concurrency=16,
        sandbox_key=Secret(SANDBOX_API_KEY, public=True),  # documented: nothing to hide
        allow_http=True,  # a local stand-in (in-process, or a server the user started)
        # The sandbox's Apten workspace starts with one profile, "Default".
        customer_profile=SANDBOX_APTEN_PROFILE if vendor == "apten" else None,
    )


def key_hint(profile: TargetProfile) -> str:
    """What to do when the target rejects the key (names where the key comes from, never it)."""
    if profile.sandbox_key is not None:
        return f"The sandbox's key is {SANDBOX_API_KEY!r}."
    if profile.api_key_block:
        return f"Put a valid key in the Prefect Secret block {profile.api_key_block!r}."
    return f"Set {profile.api_key_env} to a valid key for target {profile.name}."


def api_key_for(profile: TargetProfile) -> Secret:
    """The profile's key: its Prefect Secret block, its environment variable, or the sandbox's."""
    if profile.sandbox_key is not None:
        return profile.sandbox_key
    if profile.api_key_block:
        return _from_prefect_block(profile)
    if not profile.api_key_env:
        raise ProfileError(
            f"target {profile.name}: set `api_key_env` (an environment variable) or "
            "`api_key_block` (a Prefect Secret block) for the API key"
        )
    value = os.environ.get(profile.api_key_env)
    if not value:
        raise ProfileError(
            f"target {profile.name}: environment variable {profile.api_key_env} is not set"
        )
    return Secret(value)


def _from_prefect_block(profile: TargetProfile) -> Secret:
    from prefect.blocks.system import Secret as SecretBlock

    name = profile.api_key_block or ""
    try:
        # `load` returns a coroutine inside a running loop unless told to stay synchronous.
        block = cast(Any, SecretBlock.load(name, _sync=True))  # type: ignore[call-arg]
    except (ValueError, KeyError) as exc:
        raise ProfileError(
            f"target {profile.name}: no Prefect Secret block named {profile.api_key_block!r} "
            f"({type(exc).__name__})"
        ) from None
    return Secret(str(block.get()))
