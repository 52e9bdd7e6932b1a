"""Which thresholds a run breached (schemas/alerts.py), the thresholds a run's options give
(flows/_alerts.py), and where a breach is told (`notify_settings`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flows._alerts import judged, notify_settings, thresholds_of
from flows.exceptions import ConfigError
from flows.options import sync_options
from schemas.alerts import Thresholds, breaches, stale_alert
from schemas.summary import Alert, RunSummary
from tests.reports.report_frames import summary_of

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _summary(**counts: int) -> RunSummary:
    requests = {"sent": counts.pop("sent", 0), "throttled": counts.pop("throttled", 0)}
    return summary_of("import", counts, rows=10, requests={**requests, "retried": 0})


def test_each_breach_is_one_line_naming_the_threshold_and_the_value() -> None:
    summary = _summary(failed=3, invalid=2, sent=40, throttled=12)
    thresholds = Thresholds(failed_share=0.2, invalid_share=0.1, throttled=0.25)
    assert breaches(summary, thresholds) == (
        Alert(
            "alert_failed_share", 0.2, 0.3, "3 of 10 rows failed (more than alert_failed_share 0.2)"
        ),
        Alert(
            "alert_invalid_share",
            0.1,
            0.2,
            "2 of 10 rows invalid (more than alert_invalid_share 0.1)",
        ),
        Alert(
            "alert_throttled",
            0.25,
            0.3,
            "12 of 40 requests throttled (429) (more than alert_throttled 0.25)",
        ),
    )


@pytest.mark.parametrize(
    "thresholds",
    [
        Thresholds(),  # every rule off
        Thresholds(failed_share=0.3, invalid_share=0.2, throttled=0.3),  # equal is not more
        Thresholds(failed_share=1, invalid_share=1, throttled=1),
    ],
)
def test_a_run_within_its_thresholds_breaches_none(thresholds: Thresholds) -> None:
    assert breaches(_summary(failed=3, invalid=2, sent=40, throttled=12), thresholds) == ()


def test_zero_means_any_and_nothing_sent_is_no_throttling() -> None:
    zero = Thresholds(failed_share=0, invalid_share=0, throttled=0)
    assert [a.rule for a in breaches(_summary(invalid=1), zero)] == ["alert_invalid_share"]
    assert breaches(summary_of("import", {}, rows=0), zero) == ()  # an empty file


def test_the_command_line_spells_the_key_as_its_flag() -> None:
    (alert,) = breaches(_summary(failed=6), Thresholds(0.5, failed_key="max_failed_ratio"))
    assert alert.message == "6 of 10 rows failed (more than max_failed_ratio 0.5)"
    assert alert.flag_line() == "6 of 10 rows failed (more than --max-failed-ratio 0.5)"


def test_stale_data_is_measured_in_hours_and_none_at_all_breaches() -> None:
    assert stale_alert(NOW - timedelta(hours=23), NOW, 24, "x/*.csv") is None
    assert stale_alert(NOW - timedelta(hours=30), NOW, None, "x/*.csv") is None  # off
    assert stale_alert(NOW - timedelta(hours=30), NOW, 24, "x/*.csv") == Alert(
        "alert_stale_hours", 24, 30.0, "no new file for 30.0 hours (more than alert_stale_hours 24)"
    )
    assert stale_alert(None, NOW, 24, "x/*.csv") == Alert(
        "alert_stale_hours",
        24,
        None,
        "no file matches x/*.csv and none was imported (alert_stale_hours 24)",
    )


def _options(**conf: Any) -> Any:
    return sync_options(
        {"target": "sandbox:octanist", **conf}, source=Path("a.csv"), run_id="r1", dry_run=False
    )


@pytest.mark.parametrize(
    ("conf", "failed", "key"),
    [
        ({}, None, "alert_failed_share"),  # max_failed_ratio's default 1 is "never"
        ({"max_failed_ratio": 0.5}, 0.5, "max_failed_ratio"),
        ({"alert_failed_share": 0.2}, 0.2, "alert_failed_share"),
        ({"alert_failed_share": 0.4, "max_failed_ratio": 0.3}, 0.3, "max_failed_ratio"),
        ({"alert_failed_share": 0.3, "max_failed_ratio": 0.3}, 0.3, "alert_failed_share"),
    ],
)
def test_the_stricter_failed_share_applies(conf: dict[str, Any], failed: Any, key: str) -> None:
    thresholds = thresholds_of(_options(**conf))
    assert (thresholds.failed_share, thresholds.failed_key) == (failed, key)


def test_options_carry_the_thresholds_and_refuse_a_non_share() -> None:
    options = _options(alert_invalid_share=0.1, alert_throttled=0)
    assert thresholds_of(options) == Thresholds(invalid_share=0.1, throttled=0)
    with pytest.raises(ConfigError, match="alert_throttled must be a number from 0 to 1, not 5"):
        _options(alert_throttled=5)
    with pytest.raises(ConfigError, match="alert_invalid_share must be a number from 0 to 1"):
        _options(alert_invalid_share="10%")


def test_a_judged_run_rewrites_its_summary_json_with_the_alerts(tmp_path: Path) -> None:
    summary = summary_of("import", {"invalid": 3}, rows=10, out_dir=str(tmp_path))
    (tmp_path / "summary.json").write_text(json.dumps(summary.as_json()))
    marked = judged(summary, _options(alert_invalid_share=0.1))
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["alerts"] == [
        {
            "rule": "alert_invalid_share",
            "threshold": 0.1,
            "measured": 0.3,
            "message": "3 of 10 rows invalid (more than alert_invalid_share 0.1)",
        }
    ]
    assert RunSummary.from_json(written) == marked
    assert judged(summary, _options()) is summary  # nothing breached: nothing rewritten


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"alert_webhook": "http://hooks.example.com/T/s3cret"}, "alert_webhook must use https"),
        ({"alert_webhook": 5}, "alert_webhook must be a URL in quotes"),
        (
            {"alert_webhook_env": "LEADPIPE_TEST_NO_SUCH_VAR"},
            "LEADPIPE_TEST_NO_SUCH_VAR, which is not set",
        ),
        (
            {"alert_webhook": "https://h.example.com/a", "alert_webhook_env": "X"},
            "give alert_webhook or alert_webhook_env, not both",
        ),
        ({"alert_block": "leadpipe-alerts"}, "as TYPE/NAME (e.g. slack-webhook/leadpipe-alerts)"),
    ],
)
def test_bad_notify_settings_are_one_line_without_the_url(
    conf: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        notify_settings(conf)
    assert "s3cret" not in str(info.value)


def test_the_webhook_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADPIPE_TEST_HOOK", "https://hooks.example.com/T/abc-s3cret")
    told = notify_settings({"alert_webhook_env": "LEADPIPE_TEST_HOOK", "alert_block": "a/b"})
    assert told and told.block == "a/b"
    assert told.webhook is not None and told.webhook.reveal().endswith("abc-s3cret")
    assert "s3cret" not in repr(told)
    assert not notify_settings({})


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("alert_stale_hours = 0", "alert_stale_hours must be a number of hours above 0, not 0"),
        ('alert_stale_hours = "a day"', "alert_stale_hours must be a number of hours above 0"),
        ("alert_throttled = 2", "alert_throttled must be a number from 0 to 1, not 2"),
        ('alert_webhook = "http://hooks.example.com/s3cret"', "alert_webhook must use https"),
        ('alert_blok = "a/b"', "unknown key(s) alert_blok"),
    ],
)
def test_a_schedules_alert_keys_are_checked_when_it_is_loaded(
    tmp_path: Path, keys: str, message: str
) -> None:
    from flows.options import load_config
    from flows.schedules import load_schedules

    config = tmp_path / "leadpipe.toml"
    config.write_text(
        '[[schedules]]\nname = "n"\ncron = "0 6 * * *"\nsource = "a.csv"\n'
        f'target = "sandbox:omni"\n{keys}\n'
    )
    with pytest.raises(ConfigError) as info:
        load_schedules(load_config(config), config)
    assert f"schedule 'n': {message}" in str(info.value)
    assert "s3cret" not in str(info.value)


def test_a_schedule_takes_every_alert_key(tmp_path: Path) -> None:
    from flows.options import load_config
    from flows.schedules import load_schedules

    config = tmp_path / "leadpipe.toml"
    config.write_text(
        'alert_block = "slack-webhook/ops"\nalert_stale_hours = 30\n'
        '[[schedules]]\nname = "n"\ncron = "0 6 * * *"\nsource = "a.csv"\n'
        'target = "sandbox:omni"\nalert_failed_share = 0.2\nalert_invalid_share = 0.3\n'
        "alert_throttled = 0.5\nalert_stale_hours = 12\n"
        'alert_webhook = "https://hooks.example.com/x"\n'
    )
    (schedule,) = load_schedules(load_config(config), config)
    assert schedule.conf["alert_stale_hours"] == 12  # the entry wins over the top level
    assert schedule.conf["alert_block"] == "slack-webhook/ops"
    options = schedule.sync_options(tmp_path / "a.csv", run_id="r1")
    assert thresholds_of(options) == Thresholds(0.2, "alert_failed_share", 0.3, 0.5)
