"""Vendor connectors: httpx clients for Omni, Apten and Octanist, and the HTTP layer they share.

See `connectors/ARCHITECTURE.md` for how a request travels.
"""

from connectors._budget import (
    BudgetStats,
    LeasedBudget,
    LocalBudget,
    RateBudget,
    budget_name,
    ensure_rate_limit,
)
from connectors._client import LeadClient, RemoteLead, WriteResult, open_client
from connectors._http import Reply, RequestStats, VendorHTTP
from connectors._payloads import from_wire, to_wire
from connectors._profile import APTEN_UPDATE_ROUTES, TargetProfile, api_key_for, sandbox_profile
from connectors._ratelimit import AdaptiveRateLimiter
from connectors._retry import Clock, RetryPolicy, SystemClock, parse_retry_after
from connectors._secrets import Secret

__all__ = [
    "APTEN_UPDATE_ROUTES",
    "AdaptiveRateLimiter",
    "BudgetStats",
    "Clock",
    "LeadClient",
    "LeasedBudget",
    "LocalBudget",
    "RateBudget",
    "RemoteLead",
    "Reply",
    "RequestStats",
    "RetryPolicy",
    "Secret",
    "SystemClock",
    "TargetProfile",
    "VendorHTTP",
    "WriteResult",
    "api_key_for",
    "budget_name",
    "ensure_rate_limit",
    "from_wire",
    "open_client",
    "parse_retry_after",
    "sandbox_profile",
    "to_wire",
]
