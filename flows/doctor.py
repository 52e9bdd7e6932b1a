"""`leadpipe doctor --target P`: the target resolved as an import resolves it, then checked.

    config -> target -> client -> diagnose (connectors) -> Diagnosis

The checks change no lead (`connectors._doctor`). Retries are few and short: a doctor should
answer in seconds, and a target that needs the import's patience is worth a ✗ here.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from connectors import Diagnosis, RetryPolicy, diagnose, open_client
from flows._targets import Target, resolve_target
from flows.options import check_config_keys, leadpipe_home, load_config

__all__ = ["DOCTOR_RETRY", "run_doctor"]

DOCTOR_RETRY = RetryPolicy(max_attempts=2, base_delay=0.25, max_delay=1.0, total_timeout=20.0)


def run_doctor(target_name: str, config: Path | None) -> Diagnosis:
    """Check target `target_name` (a `[targets.NAME]` of `config`, or `sandbox:<vendor>`)."""
    conf = load_config(config)
    check_config_keys(conf, config)
    target = resolve_target(target_name, dict(conf.get("targets", {})), leadpipe_home())
    return asyncio.run(_diagnose(target))


async def _diagnose(target: Target) -> Diagnosis:
    client = open_client(target.profile, transport=target.transport, retry=DOCTOR_RETRY)
    async with client:
        return await diagnose(client, target.profile)
