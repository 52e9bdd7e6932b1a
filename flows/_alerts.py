"""Alerts, wired: a finished run judged against its thresholds, the breaches written into its
summary.json, and one notification per breached run where the config asks for one.

The rule itself (which threshold, measured how, one line each) is `schemas.alerts`; this module
holds the I/O around it:

- `judged`: the run's summary with its `alerts`, and summary.json written again with them
  (the job wrote it before it was judged; `RunDir.write_summary` replaces it atomically);
- `notify_settings`: where breaches are told, read from leadpipe.toml (a `[[schedules]]` entry
  or the top level): `alert_webhook` (a URL; a secret, so never a flag and never printed),
  `alert_webhook_env` (the environment variable holding that URL), `alert_block` (a Prefect
  notification block, `TYPE-SLUG/NAME` as `prefect block ls` shows it);
- `notify`: one POST to the webhook and/or one `.notify(body, subject)` of the block. What
  fails there is a warning line returned to the caller, never a second failure of the run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows._prefect_api import configured_api_url
from flows.exceptions import ConfigError
from flows.options import SyncOptions
from reports import RunDir
from schemas.alerts import FAILED_SHARE, MAX_FAILED_RATIO, Thresholds, breaches
from schemas.summary import Alert, RunSummary

if TYPE_CHECKING:
    from connectors import Secret

__all__ = ["Notify", "alert_report", "judged", "notify", "notify_settings", "thresholds_of"]


def thresholds_of(options: SyncOptions) -> Thresholds:
    """The run's thresholds. A failed share may come as `alert_failed_share` or as its older
    name `max_failed_ratio`; when both are set the stricter one applies (1: never)."""
    given = [
        (share, key)
        for share, key in (
            (options.alert_failed_share, FAILED_SHARE),
            (options.max_failed_ratio, MAX_FAILED_RATIO),
        )
        if share is not None and share < 1
    ]
    failed, key = min(given, key=lambda g: g[0]) if given else (None, FAILED_SHARE)
    return Thresholds(
        failed_share=failed,
        failed_key=key,
        invalid_share=options.alert_invalid_share,
        throttled=options.alert_throttled,
    )


def judged(summary: RunSummary, options: SyncOptions) -> RunSummary:
    """`summary` with the thresholds it breached; summary.json rewritten when there are any."""
    alerts = breaches(summary, thresholds_of(options))
    if not alerts:
        return summary
    marked = replace(summary, alerts=alerts)
    written = Path(summary.out_dir) / "summary.json"
    if summary.out_dir and written.exists():  # replaced, never made where none was written
        RunDir(written.parent).write_summary(marked)
    return marked


@dataclass(frozen=True)
class Notify:
    """Where a breached run is told: a webhook (its URL a `Secret`), a Prefect block, both,
    or neither (falsy)."""

    webhook: Secret | None = None
    block: str | None = None

    def __bool__(self) -> bool:
        return self.webhook is not None or self.block is not None


def notify_settings(conf: dict[str, Any]) -> Notify:
    """`alert_webhook` / `alert_webhook_env` / `alert_block` of a config (or a schedule's
    options laid over it), checked; a ConfigError names the key, never the URL."""
    from connectors import Secret, webhook_problem

    url, env = conf.get("alert_webhook"), conf.get("alert_webhook_env")
    if url is not None and env is not None:
        raise ConfigError("give alert_webhook or alert_webhook_env, not both")
    where = "alert_webhook"
    if env is not None:
        if not isinstance(env, str) or not env:
            raise ConfigError("alert_webhook_env must name an environment variable")
        url, where = os.environ.get(env), f"the alert webhook in ${env}"
        if not url:
            raise ConfigError(f"alert_webhook_env names {env}, which is not set")
    webhook = None
    if url is not None:
        if not isinstance(url, str):
            raise ConfigError("alert_webhook must be a URL in quotes")
        webhook = Secret(url)
        webhook.reveal()  # registers it: from now on any message quoting it shows ****
        problem = webhook_problem(url)
        if problem is not None:
            raise ConfigError(f"{where} {problem}")
    block = conf.get("alert_block")
    if block is not None and (not isinstance(block, str) or "/" not in block):
        raise ConfigError(
            f"alert_block must name a Prefect notification block as TYPE/NAME "
            f"(e.g. slack-webhook/leadpipe-alerts), not {block!r}"
        )
    return Notify(webhook, block)


def alert_report(
    alerts: tuple[Alert, ...],
    *,
    run_id: str | None,
    target: str,
    schedule: str | None = None,
    report: str | None = None,
) -> dict[str, Any]:
    """The one notification's body: `{run_id, schedule, target, breaches, report}`."""
    return {
        "run_id": run_id,
        "schedule": schedule,
        "target": target,
        "breaches": [alert.as_json() for alert in alerts],
        "report": report,
    }


def notify(settings: Notify, body: dict[str, Any], *, under_prefect: bool) -> list[str]:
    """Tell a breached run (`alert_report`'s `body`) once to each configured place; the
    warning lines of what could not be told (none when all went out)."""
    from connectors import post_webhook

    warnings = []
    if settings.webhook is not None:
        warnings.append(post_webhook(settings.webhook, body))
    if settings.block is not None:
        warnings.append(_notify_block(settings.block, body, under_prefect))
    return [w for w in warnings if w is not None]


def _notify_block(name: str, body: dict[str, Any], under_prefect: bool) -> str | None:
    """`.notify(text, subject)` of the Prefect notification block `name` (TYPE/NAME)."""
    if not (under_prefect or configured_api_url()):
        return f"alert_block {name} needs Prefect (PREFECT_API_URL, or --engine prefect): not sent"
    from prefect.blocks.core import Block

    try:
        block: Any = Block.load(name)
    except (ValueError, KeyError) as exc:
        return f"alert_block {name} could not be loaded ({str(exc).splitlines()[0]})"
    if not callable(getattr(block, "notify", None)):
        return f"alert_block {name} is not a notification block"
    subject, text = _message(body)
    try:
        block.notify(text, subject)
    except Exception as exc:  # noqa: BLE001 - a notification never fails the run twice
        return f"alert_block {name} did not notify ({type(exc).__name__})"
    return None


def _message(body: dict[str, Any]) -> tuple[str, str]:
    """A person's subject and text for a block (a webhook gets `body` as JSON)."""
    who = f"schedule {body['schedule']}" if body["schedule"] else f"run {body['run_id']}"
    subject = f"leadpipe: {who} into {body['target']} breached {len(body['breaches'])} alert(s)"
    lines = [b["message"] for b in body["breaches"]]
    if body["report"]:
        lines.append(f"report: {body['report']}")
    lines.append(json.dumps({k: body[k] for k in ("run_id", "schedule", "target")}))
    return subject, "\n".join(lines)
