"""Scheduled imports: one Prefect deployment per `[[schedules]]` entry of leadpipe.toml.

An analyst's nightly export lands in a folder; on its cron schedule the `scheduled_import`
flow imports the newest matching file, unless a file with the same content was already
imported by that schedule into that target. The flow's parameters are only the config path
and the schedule's name, so the Prefect UI shows them plainly and edits to the file take effect
on the next run (the config is read again at every run).

What was imported is kept in a small ledger per schedule, `LEADPIPE_HOME/schedules/NAME.json`
(sha256 of the file's content per target). One file per schedule means two schedules finishing
together never overwrite each other's records; a deployment runs one flow run at a time
(`concurrency_limit=1`), so a schedule never races itself either. A hash is recorded only after
its import finished, so a failed run is retried on the next tick.

    [[schedules]]
    name = "nightly-hubspot"          # deployment name; unique; [a-z0-9-]
    cron = "0 6 * * 1-5"
    timezone = "Europe/Berlin"        # IANA; default UTC
    source = "exports/hubspot-*.csv"  # a path or a glob, relative to the config file's folder
    target = "octanist-prod"
    preset = "hubspot"                # any plan/import option; top-level options apply too
    approve = true                    # pause for a person's yes before sending (flows/_approval.py)

Relative paths (`source`, `mapping`, `state_file`, `out`) are read from the config file's
folder, not from where `leadpipe serve` was started. `out` may name `{schedule}` and
`{run_id}`; it defaults to `runs/{schedule}/{run_id}`.

Alerts (`alert_*` keys, top level or per schedule; README "Alerts"): after each tick the run
is judged (`flows._alerts`); a breach ends it Failed with one line per breach and notifies
once. `alert_stale_hours = N` breaches when the schedule's newest data is more than N hours old:
the later of its newest matching file's modification time and its last import in the ledger
(a file copied with an old time still counts as new once imported), or when there is neither.

`serve` started right after `prefect server start` would meet a server still starting: it
waits for the Prefect API to answer (`wait_for_api`, at most `API_WAIT_S`, and says so) before
it registers anything, and a server that never answers is one line naming its address.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, cast
from zoneinfo import ZoneInfo

import httpx
from prefect import flow, get_run_logger
from prefect.states import Failed

from flows._alerts import alert_report, judged, notify, notify_settings
from flows._prefect import failing_quietly
from flows.exceptions import ConfigError
from flows.options import (
    ALERT_KEYS,
    ALERT_SHARES,
    Flags,
    SyncOptions,
    check_config_keys,
    leadpipe_home,
    load_config,
    new_run_id,
    options_from,
)
from flows.sync import run_sync
from schemas.alerts import FAILED_SHARE, MAX_FAILED_RATIO, STALE_HOURS, stale_alert
from schemas.exceptions import CannotProceedError
from schemas.files import atomic_write
from schemas.summary import Alert
from schemas.vendors import VENDORS

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

__all__ = [
    "Ledger",
    "Schedule",
    "ScheduleRow",
    "deployments",
    "load_schedules",
    "newest_file",
    "scheduled_import",
    "schedule_rows",
    "serve",
    "sha256_of",
    "tick",
    "wait_for_api",
]

logger = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "UTC"
DEFAULT_OUT = "runs/{schedule}/{run_id}"
REQUIRED_KEYS = ("name", "cron", "source", "target")
OPTION_KEYS = (
    "preset",
    "mapping",
    "default_region",
    "duplicates",
    "mode",
    "blanks",
    "state_file",
    "out",
    "max_failed_ratio",
    "sheet",
    "memory",
    "null_tokens",
    "on_target_edit",
    "allow_reopen",
    "verify_target",
    "refresh_target",
    "wait",
    *ALERT_SHARES,
    *ALERT_KEYS,
    "approve",  # the run pauses for a person's answer (flows/_approval.py) before it sends
    "approve_timeout",
)
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
_SANDBOXES = tuple(f"sandbox:{vendor}" for vendor in VENDORS)
LEDGER_VERSION = 1
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Schedule:
    """One `[[schedules]]` entry, validated; `conf` is the file's top-level options with the
    entry's own options laid over them."""

    name: str
    cron: str
    timezone: str
    source: str
    target: str
    folder: Path  # the config file's folder: relative paths start here
    conf: dict[str, Any]

    def sync_options(self, source: Path, run_id: str) -> SyncOptions:
        """The import options of one run of this schedule, for the file `source`."""
        out = str(self.conf.get("out", DEFAULT_OUT)).format(schedule=self.name, run_id=run_id)
        flags = Flags(
            source=source,
            target=self.target,
            out=self.folder / out,
            mapping=self._path("mapping"),
            state_file=self._path("state_file"),
            # a schedule's run is a Prefect flow run: `runner = "dask"` at the top level
            # puts its partitions on Dask
            engine="prefect",
        )
        options, _ = options_from("import", flags, self.conf, run_id=run_id)
        assert isinstance(options, SyncOptions)
        return options

    def _path(self, key: str) -> Path | None:
        value = self.conf.get(key)
        return self.folder / str(value) if value else None


class ScheduleRow(NamedTuple):
    """What `leadpipe serve` shows before it starts: a schedule and when it runs next."""

    name: str
    cron: str
    timezone: str
    source: str
    target: str
    next_run: datetime


def load_schedules(conf: dict[str, Any], config_path: Path) -> list[Schedule]:
    """The `[[schedules]]` of a loaded leadpipe.toml, every entry checked.

    Raises one ConfigError naming every problem found (missing keys, duplicate names, bad
    cron, unknown time zone, unknown keys or values).
    """
    entries = conf.get("schedules", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{config_path}: write each schedule as a [[schedules]] table")
    check_config_keys(conf, config_path)  # a typo at the top level is not silently ignored
    shared = {k: v for k, v in conf.items() if k != "schedules"}
    problems = [p for n, entry in enumerate(entries, 1) for p in _problems(entry, n, shared)]
    problems += _duplicate_names(entries)
    if problems:
        raise ConfigError(f"{config_path}: " + "; ".join(problems))
    folder = config_path.resolve().parent
    return [_schedule(entry, shared, folder) for entry in entries]


def _schedule(entry: dict[str, Any], shared: dict[str, Any], folder: Path) -> Schedule:
    return Schedule(
        name=entry["name"],
        cron=entry["cron"],
        timezone=entry.get("timezone", DEFAULT_TIMEZONE),
        source=entry["source"],
        target=entry["target"],
        folder=folder,
        conf={**shared, **{k: v for k, v in entry.items() if k in OPTION_KEYS}},
    )


def _problems(entry: dict[str, Any], number: int, shared: dict[str, Any]) -> Iterator[str]:
    name = entry.get("name")
    label = f"schedule {name!r}" if isinstance(name, str) and name else f"schedule #{number}"
    for key in REQUIRED_KEYS:
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            yield f"{label}: `{key}` is required (a string)"
    unknown = sorted(set(entry) - {*REQUIRED_KEYS, "timezone", *OPTION_KEYS})
    if unknown:
        yield f"{label}: unknown key(s) {', '.join(unknown)} (known: {_known_keys()})"
    if isinstance(name, str) and name and not _NAME.fullmatch(name):
        yield f"{label}: the name may hold only lower-case letters, digits and dashes"
    if isinstance(entry.get("cron"), str):
        yield from _cron_problems(label, entry["cron"], entry.get("timezone", DEFAULT_TIMEZONE))
    yield from _target_problems(label, entry.get("target"), shared)
    if not unknown and all(isinstance(entry.get(k), str) and entry[k] for k in REQUIRED_KEYS):
        yield from _option_problems(label, _schedule(entry, shared, Path(".")))


def _target_problems(label: str, target: Any, shared: dict[str, Any]) -> Iterator[str]:
    known = (*shared.get("targets", {}), *_SANDBOXES)
    if isinstance(target, str) and target and target not in known:
        yield (
            f"{label}: unknown target {target!r} (a [targets.NAME] table of this file, "
            f"or {', '.join(_SANDBOXES)})"
        )


def _cron_problems(label: str, cron: str, timezone: Any) -> Iterator[str]:
    """Prefect's own checks of the cron string and the time zone, as our messages."""
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    try:
        CronSchedule(cron=cron, timezone=timezone)
    except ValidationError as exc:
        fields = {str(error["loc"][0]) for error in exc.errors()}
        if "cron" in fields:
            yield (
                f"{label}: cron {cron!r} is not a valid cron expression "
                "(five fields: minute hour day-of-month month day-of-week)"
            )
        if "timezone" in fields:
            yield f"{label}: timezone {timezone!r} is not an IANA time zone (e.g. Europe/Berlin)"
        return
    try:
        _next_run(cron, timezone, datetime.now(UTC))
    except ValueError:  # a valid expression for a date that never comes, e.g. 30 February
        yield f"{label}: cron {cron!r} never fires"


def _option_problems(label: str, schedule: Schedule) -> Iterator[str]:
    """Option values, checked as a run checks them (mode, blanks, region, ratio, out, ...)."""
    try:
        str(schedule.conf.get("out", DEFAULT_OUT)).format(schedule="s", run_id="r")
    except (KeyError, IndexError, ValueError):
        yield f"{label}: out may name only {{schedule}} and {{run_id}} in braces"
        return
    try:
        schedule.sync_options(Path(schedule.source), run_id="check")
        _stale_hours(schedule.conf)
        notify_settings(schedule.conf)  # `serve` refuses a bad webhook before it serves
    except ConfigError as exc:
        yield f"{label}: {exc}"


def _duplicate_names(entries: list[dict[str, Any]]) -> list[str]:
    names: list[str] = [e["name"] for e in entries if isinstance(e.get("name"), str)]
    twice = sorted({n for n in names if names.count(n) > 1})
    return [f"schedule {n!r}: the name is used by more than one schedule" for n in twice]


def _known_keys() -> str:
    return ", ".join([*REQUIRED_KEYS, "timezone", *OPTION_KEYS])


def newest_file(folder: Path, pattern: str) -> Path | None:
    """The newest file matching `pattern` (a path or a glob, relative to `folder` unless
    absolute): the latest modification time wins, then the greater name. None if none match.

    >>> newest_file(Path("/data"), "exports/hubspot-*.csv")  # doctest: +SKIP
    PosixPath('/data/exports/hubspot-2026-11-22.csv')
    """
    path = Path(pattern).expanduser()
    if path.is_absolute():
        folder, pattern = Path(path.anchor), str(path.relative_to(path.anchor))
    files = [p for p in folder.glob(pattern) if p.is_file()]
    return max(files, key=lambda p: (p.stat().st_mtime_ns, p.name, str(p)), default=None)


def sha256_of(path: Path) -> str:
    """The file's sha256 in hex, read in 1 MiB chunks (exports can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Ledger:
    """Which file contents one schedule imported into which target, by sha256.

    `{"version": 1, "imported": {TARGET: {SHA256: {"file", "run_id", "imported_at"}}}}`,
    rewritten whole and atomically (`schemas.files.atomic_write`, flushed to disk first).
    """

    path: Path

    @classmethod
    def of(cls, schedule: str, home: Path | None = None) -> Ledger:
        """The ledger of the schedule named `schedule` under LEADPIPE_HOME."""
        return cls((home or leadpipe_home()) / "schedules" / f"{schedule}.json")

    def last_imported(self, target: str) -> datetime | None:
        """When the latest import into `target` finished (None: none yet)."""
        records = self._read()["imported"].get(target, {}).values()
        return max((datetime.fromisoformat(r["imported_at"]) for r in records), default=None)

    def lookup(self, target: str, sha256: str) -> dict[str, Any] | None:
        """The record of an earlier import of this content into `target`, if any."""
        record: dict[str, Any] | None = self._read()["imported"].get(target, {}).get(sha256)
        return record

    def record(self, target: str, sha256: str, *, file: Path, run_id: str, at: datetime) -> None:
        """Remember that run `run_id` imported `file` (content `sha256`) into `target`."""
        data = self._read()
        data["imported"].setdefault(target, {})[sha256] = {
            "file": str(file),
            "run_id": run_id,
            "imported_at": at.isoformat(),
        }
        self._write(data)

    def _read(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"version": LEDGER_VERSION, "imported": {}}
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CannotProceedError(f"import ledger {self.path} is unreadable: {exc}") from None
        if data.get("version") != LEDGER_VERSION:
            raise CannotProceedError(
                f"import ledger {self.path} has version {data.get('version')!r}; "
                f"this leadpipe reads version {LEDGER_VERSION}"
            )
        return data

    def _write(self, data: dict[str, Any]) -> None:
        def dump(partial: Path) -> None:
            with partial.open("w", encoding="utf-8") as stream:
                json.dump(data, stream, indent=2, sort_keys=True)

        atomic_write(self.path, dump, durable=True)


def _find_schedule(config_path: Path, name: str) -> Schedule:
    """The schedule called `name` in the config file as it is now."""
    for schedule in load_schedules(load_config(config_path), config_path):
        if schedule.name == name:
            return schedule
    raise ConfigError(f"{config_path}: no [[schedules]] entry is named {name!r} any more")


@flow(name="scheduled-import", persist_result=False)
def scheduled_import(config: str, schedule: str) -> Any:
    """One tick of a schedule: import the newest matching file, unless it was imported before.

    Returns `{"status": "imported" | "skipped" | "nothing", "file", "sha256", "run_id",
    "out_dir", "counts"}`; our errors end the run Failed with their one-line message.
    """
    return failing_quietly(tick)(Path(config), schedule)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def tick(config_path: Path, name: str, now: Callable[[], datetime] = _utc_now) -> Any:
    """The body of `scheduled_import` (`now`: the wall clock; a test's stands still): import
    the newest file unless imported before, then judge the tick; a breach is a Failed state
    naming each breach, told once where the config says (`flows._alerts`)."""
    schedule = _find_schedule(config_path, name)
    told = notify_settings(schedule.conf)  # a bad webhook stops the tick before any work
    source = newest_file(schedule.folder, schedule.source)
    result, alerts = _take(schedule, source, now)
    stale = _stale(schedule, source, now())
    alerts = (*alerts, stale) if stale else alerts
    if not alerts:
        return result
    imported = result["status"] == "imported"
    body = alert_report(
        alerts,
        run_id=result["run_id"] if imported else None,
        target=schedule.target,
        schedule=schedule.name,
        report=f"{result['out_dir']}/report.html" if imported else None,
    )
    for warning in notify(told, body, under_prefect=True) if told else ():
        get_run_logger().warning("%s", warning)
    said = "; ".join(alert.message for alert in alerts)
    if any(alert.rule in (FAILED_SHARE, MAX_FAILED_RATIO) for alert in alerts):
        said += f"; {Path(result['file']).name} is tried again on the next run"
    return Failed(message=said, data=result)


def _stale(schedule: Schedule, source: Path | None, now: datetime) -> Alert | None:
    """The `alert_stale_hours` breach, if set: measured on the newest file's time and the
    ledger's last import, whichever is later."""
    hours = _stale_hours(schedule.conf)
    if hours is None:
        return None
    seen = [datetime.fromtimestamp(source.stat().st_mtime, UTC)] if source else []
    last = Ledger.of(schedule.name).last_imported(schedule.target)
    newest = max([*seen, *([last] if last else [])], default=None)
    return stale_alert(newest, now, hours, schedule.source)


def _stale_hours(conf: dict[str, Any]) -> float | None:
    hours = conf.get(STALE_HOURS)
    if hours is not None and (
        isinstance(hours, bool) or not isinstance(hours, int | float) or hours <= 0
    ):
        raise ConfigError(f"{STALE_HOURS} must be a number of hours above 0, not {hours!r}")
    return hours


def _take(
    schedule: Schedule, source: Path | None, now: Callable[[], datetime]
) -> tuple[dict[str, Any], tuple[Alert, ...]]:
    """Import `source` unless there is none or it went to the target before: the tick's
    result and the import's breaches."""
    logger = get_run_logger()
    if source is None:
        logger.info("nothing to import: no file matches %s in %s", schedule.source, schedule.folder)
        return _result("nothing"), ()
    sha256 = sha256_of(source)
    ledger = Ledger.of(schedule.name)
    earlier = ledger.lookup(schedule.target, sha256)
    if earlier is not None:
        logger.info(
            "skipped %s: the same content went to %s in run %s (%s)",
            source.name,
            schedule.target,
            earlier["run_id"],
            earlier["imported_at"],
        )
        return _result("skipped", source, sha256, run_id=earlier["run_id"]), ()
    return _import(schedule, source, sha256, ledger, now)


def _import(
    schedule: Schedule, source: Path, sha256: str, ledger: Ledger, now: Callable[[], datetime]
) -> tuple[dict[str, Any], tuple[Alert, ...]]:
    logger = get_run_logger()
    options = schedule.sync_options(source, new_run_id(now()))
    logger.info("importing %s into %s as run %s", source.name, schedule.target, options.run_id)
    summary = run_sync(options, "prefect")  # the import-leads flow, as a subflow of this run
    summary = judged(summary, options)
    result = _result(
        "imported", source, sha256, options.run_id, str(options.out_dir), dict(summary.counts)
    )
    approval = summary.approval
    if approval is not None and not approval.sends and approval.verdict != "nothing_to_send":
        # Not sent: not recorded in the ledger, so the next run plans the file again. A plan
        # nobody answered in time fails the run (and is told, like a breached threshold).
        how = "rejected" if approval.verdict == "rejected" else "not approved in time"
        said = f"{source.name} was not sent: the plan was {how}; the next run plans it again"
        if approval.verdict == "timed_out":
            late = Alert("approve_timeout", options.approve_timeout, None, said)
            return result, (*summary.alerts, late)
        logger.info("%s", said)
        return result, summary.alerts
    # Too many failed rows: the file is tried again next tick (invalid rows or throttling
    # would come back the same, so those breaches do not hold the file back).
    if not any(a.rule in (FAILED_SHARE, MAX_FAILED_RATIO) for a in summary.alerts):
        ledger.record(schedule.target, sha256, file=source, run_id=options.run_id, at=now())
        logger.info("imported %s: %s", source.name, dict(summary.counts))
    return result, summary.alerts


def _result(
    status: str,
    file: Path | None = None,
    sha256: str | None = None,
    run_id: str | None = None,
    out_dir: str | None = None,
    counts: dict[str, int] | None = None,
) -> dict[str, Any]:
    return {
        "status": status,
        "file": str(file) if file else None,
        "sha256": sha256,
        "run_id": run_id,
        "out_dir": out_dir,
        "counts": counts,
    }


def _schedules_in(config_path: Path) -> list[Schedule]:
    schedules = load_schedules(load_config(config_path), config_path)
    if not schedules:
        raise ConfigError(f"{config_path} has no [[schedules]] entries to serve")
    return schedules


def deployments(config_path: Path) -> list[RunnerDeployment]:
    """One deployment of `scheduled_import` per schedule of the config file (nothing applied)."""
    from prefect.schedules import Cron
    from prefect.types.entrypoint import EntrypointType

    path = config_path.resolve()
    return [
        cast(
            "RunnerDeployment",
            scheduled_import.to_deployment(
                name=s.name,
                # to_deployment takes no timezone of its own: it rides on the schedule object.
                schedule=Cron(s.cron, timezone=s.timezone),
                parameters={"config": str(path), "schedule": s.name},
                description=(
                    f"Imports the newest {s.source} (in {s.folder}) into {s.target} at "
                    f"'{s.cron}' ({s.timezone}); a file already imported is skipped."
                ),
                tags=["leadpipe", "scheduled-import"],
                concurrency_limit=1,
                # The installed package, not a file path: `leadpipe serve` starts from any folder.
                entrypoint_type=EntrypointType.MODULE_PATH,
            ),
        )
        for s in _schedules_in(path)
    ]


def schedule_rows(config_path: Path, now: datetime | None = None) -> list[ScheduleRow]:
    """Each schedule of the config file with its next run after `now` (default: the clock)."""
    after = now or datetime.now(UTC)
    return [
        ScheduleRow(
            s.name, s.cron, s.timezone, s.source, s.target, _next_run(s.cron, s.timezone, after)
        )
        for s in _schedules_in(config_path)
    ]


def _next_run(cron: str, timezone: str, after: datetime) -> datetime:
    """Computed by the Prefect server's own schedule, so it is the time the server will pick.

    Raises ValueError when the expression never fires (30 February).
    """
    from prefect.server.schemas.schedules import CronSchedule
    from prefect.utilities.asyncutils import run_coro_as_sync

    dates: list[datetime] = run_coro_as_sync(
        CronSchedule(cron=cron, timezone=timezone).get_dates(1, after)
    )
    if not dates:
        raise ValueError(f"cron {cron!r} never fires")
    return datetime.fromtimestamp(dates[0].timestamp(), ZoneInfo(timezone))


def serve(
    config_path: Path,
    *,
    say: Callable[[str], None] | None = None,
    clock: WaitClock | None = None,
    probe: Callable[[str], bool] | None = None,
) -> None:
    """Serve one deployment per schedule until interrupted; schedules stay active afterwards.

    Needs a Prefect server that schedules runs (`prefect server start`, PREFECT_API_URL): the
    temporary server Prefect starts on its own never creates scheduled runs. Waits for that
    server first (`wait_for_api`: `say`, `clock` and `probe` as there).
    """
    from prefect import serve as prefect_serve
    from prefect.settings import PREFECT_API_URL

    served = deployments(config_path)
    url = PREFECT_API_URL.value()
    if not url:
        raise ConfigError(
            "leadpipe serve needs a Prefect server: start one with `prefect server start` "
            "and set PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    wait_for_api(url, say=say, clock=clock, probe=probe)
    try:
        prefect_serve(*served, pause_on_shutdown=False)
    except httpx.ConnectError:
        raise CannotProceedError(
            f"lost the Prefect API at {url}: is the Prefect server still running?"
        ) from None


# How long `serve` waits for a Prefect server that is starting (`prefect server start` takes
# ~10-20 s on a small machine), and how often it asks.
API_WAIT_S = 30.0
_ASK_EVERY_S = 0.5


class WaitClock(Protocol):
    """Seconds on a monotonic clock, and a way to wait (a test's clock moves at once)."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class _SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def wait_for_api(
    url: str,
    *,
    within: float = API_WAIT_S,
    say: Callable[[str], None] | None = None,
    clock: WaitClock | None = None,
    probe: Callable[[str], bool] | None = None,
) -> None:
    """Return once the Prefect API at `url` answers (`probe`, default: its /health route); if
    it does not at once, `say` (default: the log) that it waits, for at most `within` seconds,
    then raise CannotProceedError naming `url` and what to do."""
    clock, probe, say = clock or _SystemClock(), probe or _answers, say or logger.warning
    if probe(url):
        return
    say(f"waiting up to {within:.0f} s for the Prefect API at {url} to answer …")
    deadline = clock.now() + within
    while (left := deadline - clock.now()) > 0:
        clock.sleep(min(_ASK_EVERY_S, left))
        if probe(url):
            say(f"the Prefect API at {url} answered")
            return
    raise CannotProceedError(
        f"the Prefect API at {url} did not answer within {within:.0f} s: start it with "
        "`prefect server start` (or correct PREFECT_API_URL), then run leadpipe serve again"
    )


def _answers(url: str) -> bool:
    """Whether the API answers its health route at all (a Prefect Cloud workspace may want a
    key for it: any answer below 500 means a server is listening)."""
    try:
        response = httpx.get(f"{url.rstrip('/')}/health", timeout=2.0)
    except httpx.HTTPError:
        return False
    return response.status_code < 500
