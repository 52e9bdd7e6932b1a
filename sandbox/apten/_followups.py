"""Apten follow-up settings: ``followUpConfig`` validation, ``followUpStep``, the timer.

Documented: config keys are step numbers; each step is ``{hours, channel, voicemailEnabled?,
strategyIds?}``; ``call`` needs voice on the customer profile, ``email`` needs email on the
profile and the organisation; ``strategyIds`` needs ``useStrategiesForFollowUps``; a step
is a positive n, ``-1`` (STOPPED) or ``-2`` (LONG_TERM); sending step and/or config resets
the timer to now + the scheduled step's hours.
Choices: the config **replaces** the previous one; every violation is a 400;
``voicemailEnabled`` on a non-call step is rejected; a step missing from the config (or
STOPPED/LONG_TERM) leaves no timer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sandbox._errors import InvalidInput
from sandbox._time import format_ts
from sandbox._types import JSON

CHANNELS = frozenset({"text", "call", "email"})
STOPPED, LONG_TERM = -1, -2


def parse_config(value: Any) -> JSON:
    """A validated ``followUpConfig`` (keys ``"1"``, ``"2"``, ...)."""
    if not isinstance(value, dict):
        raise InvalidInput("followUpConfig must be an object")
    for key, step in value.items():
        if not key.isdigit() or int(key) < 1:
            raise InvalidInput(f"followUpConfig key {key!r} must be a positive step number")
        _check_step(key, step)
    return {key: value[key] for key in sorted(value, key=int)}


def _check_step(key: str, step: Any) -> None:
    if not isinstance(step, dict):
        raise InvalidInput(f"followUpConfig[{key}] must be an object")
    hours = step.get("hours")
    if isinstance(hours, bool) or not isinstance(hours, int | float) or hours < 0:
        raise InvalidInput(f"followUpConfig[{key}].hours must be a non-negative number")
    if step.get("channel") not in CHANNELS:
        raise InvalidInput(f"followUpConfig[{key}].channel must be text, call or email")
    if "voicemailEnabled" in step and step["channel"] != "call":
        raise InvalidInput(f"followUpConfig[{key}].voicemailEnabled applies to call only")
    if not isinstance(step.get("voicemailEnabled", False), bool):
        raise InvalidInput(f"followUpConfig[{key}].voicemailEnabled must be a boolean")
    strategies = step.get("strategyIds", "auto")
    if strategies != "auto" and not _strings(strategies):
        raise InvalidInput(f'followUpConfig[{key}].strategyIds must be "auto" or strings')


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def parse_step(value: Any) -> int:
    """A validated ``followUpStep``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("followUpStep must be an integer")
    if value < 1 and value not in (STOPPED, LONG_TERM):
        raise InvalidInput("followUpStep must be positive, -1 (STOPPED) or -2 (LONG_TERM)")
    return value


def check_channels(config: JSON, profile: JSON, org_email: bool) -> None:
    """Reject channels the customer profile (or organisation) has not enabled."""
    for key, step in config.items():
        channel = step["channel"]
        if channel == "call" and not profile["voiceEnabled"]:
            raise InvalidInput(f"followUpConfig[{key}]: voice is not enabled for this profile")
        if channel == "email" and not (profile["emailEnabled"] and org_email):
            raise InvalidInput(f"followUpConfig[{key}]: email is not enabled for this profile")


def check_strategies(config: JSON | None, use_strategies: bool) -> None:
    """``strategyIds`` (even ``"auto"``) needs ``useStrategiesForFollowUps`` on the lead."""
    for key, step in (config or {}).items():
        if "strategyIds" in step and not use_strategies:
            raise InvalidInput(
                f"followUpConfig[{key}].strategyIds needs useStrategiesForFollowUps=true"
            )


def next_follow_up(config: JSON | None, step: int | None, now: datetime) -> str | None:
    """When the scheduled step fires: now + its hours, or None."""
    if not config or step is None or str(step) not in config:
        return None
    return format_ts(now + timedelta(hours=config[str(step)]["hours"]))
