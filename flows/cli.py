"""The `leadpipe` command line (Typer). Parses arguments, calls a job, shows the outcome.

Exit status: 0 the run finished (row problems are in the report); 1 it finished but breached
an alert threshold (--max-failed-ratio, --alert-*: one line each; `flows._alerts`), or an
--approve import's question was not answered in time (a rejected plan exits 0: a person
decided); 2 usage or config error (a flag, leadpipe.toml, an unusable LEADPIPE_HOME,
PREFECT_HOME or --out; an --approve import with nobody to ask: no terminal, or Prefect's
temporary server); 3 the run could not proceed (unreadable file, target down, ...); 128 + the
signal when a stop signal ended it (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP), after one line with
the run id and, for an import that started sending, the command that resumes it
(`flows._signals`). Errors are one line on stderr, never a traceback (LEADPIPE_DEBUG=1 shows
it). With --json, stdout carries the summary and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from flows._events import listening
from flows._prefect_api import configured_api_url
from flows._signals import Stopped, stop_signals
from flows.exceptions import ConfigError
from flows.options import (
    CheckOptions,
    Engine,
    Flags,
    Job,
    SyncOptions,
    check_places,
    check_target,
    engine_choice,
    engine_setting,
    leadpipe_home,
    load_config,
    options_for,
)
from reports import share_text
from schemas.exceptions import ImporterError
from schemas.summary import RunSummary

__all__ = ["app", "main"]

app = typer.Typer(
    name="leadpipe",
    help="Bulk lead importer: check, plan and load lead exports into Omni, Apten and Octanist.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help text is plain words: in "rich" mode `[targets.NAME]` and `[[schedules]]` read as
    # style tags and vanish. Markdown keeps brackets (and the panels); help avoids * and `.
    rich_markup_mode="markdown",
)
_err = Console(stderr=True)
_out = Console()

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="leadpipe.toml with defaults for any option.")
]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="auto (default; env LEADPIPE_ENGINE): Prefect when PREFECT_API_URL names a Prefect "
        "server, else in-process; prefect (a temporary Prefect server when none is set, "
        "~15 s); local.",
    ),
]
RunnerOpt = Annotated[
    str | None,
    typer.Option(
        "--runner",
        help="local (default; env LEADPIPE_RUNNER) or dask: heavy stages and the push per "
        "partition on Dask.",
    ),
]
DaskAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--dask-address", help="Scheduler of a running Dask cluster (default: a LocalCluster)."
    ),
]


PresetOpt = Annotated[str | None, typer.Option(help="Mapping preset (default: detected).")]
MappingOpt = Annotated[Path | None, typer.Option(help="TOML mapping file extending a preset.")]
RegionOpt = Annotated[
    str | None,
    typer.Option("--default-region", help="Region for phones without a country, e.g. US."),
]
ModeOpt = Annotated[
    str | None, typer.Option(help="upsert (default), update (never create), create (never update).")
]
BlanksOpt = Annotated[
    str | None, typer.Option(help="leave (default) or clear fields blank in the file.")
]
OutOpt = Annotated[Path | None, typer.Option(help="Run directory (default runs/<run_id>).")]
TargetEditOpt = Annotated[
    str | None,
    typer.Option(
        "--on-target-edit",
        help="keep (default): a field changed in the target but not in the file is left "
        "alone; overwrite: the file wins everywhere.",
    ),
]
ReopenOpt = Annotated[
    bool | None,
    typer.Option(
        "--allow-reopen/--no-allow-reopen",
        help="Send changes that take a lead out of opted-out, not-interested or closed.",
        show_default=False,
    ),
]
VerifyOpt = Annotated[
    bool | None,
    typer.Option(
        "--verify-target/--no-verify-target",
        help="Read every matched lead, not only those the plan writes to.",
        show_default=False,
    ),
]
WaitOpt = Annotated[
    float | None,
    typer.Option(
        "--wait",
        help="Seconds to wait while another run writes to the same target (default 0: stop).",
    ),
]
RefreshOpt = Annotated[
    bool | None,
    typer.Option(
        "--refresh-target/--no-refresh-target",
        help="Read the whole target again instead of what changed since the last run.",
        show_default=False,
    ),
]
StateFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--state-file", help="An export of the target to compare with, instead of reading it."
    ),
]
SheetOpt = Annotated[str | None, typer.Option(help="XLSX sheet name (default: the first).")]
MemoryOpt = Annotated[
    bool | None,
    typer.Option(
        "--memory/--no-memory",
        help="Remember a --mapping for these headers under LEADPIPE_HOME and apply it to the "
        "next file with the same headers (default: on).",
    ),
]
StrictOpt = Annotated[
    bool | None,
    typer.Option(
        "--strict/--no-strict",
        help="Reject a row for any bad value (default: only a row with no usable email, phone "
        "or id is rejected; a bad optional value is left out with a warning).",
        show_default=False,
    ),
]
NullTokensOpt = Annotated[
    str | None,
    typer.Option(
        "--null-tokens",
        help="Cell values read as blank, comma-separated, any case (default: null, N/A, NA, "
        '#N/A, -, --, none, nil, (blank), undefined; "" reads every value as given).',
    ),
]
FailedShareOpt = Annotated[
    float | None,
    typer.Option(
        "--alert-failed-share",
        help="Exit 1 when more than this share of rows failed (0-1; the stricter of it and "
        "--max-failed-ratio applies).",
    ),
]
InvalidShareOpt = Annotated[
    float | None,
    typer.Option(
        "--alert-invalid-share", help="Exit 1 when more than this share of rows is invalid."
    ),
]
ThrottledOpt = Annotated[
    float | None,
    typer.Option(
        "--alert-throttled",
        help="Exit 1 when more than this share of the requests sent was throttled (429).",
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print summary.json to stdout, nothing else.")
]


@app.command()
def check(
    source: Annotated[
        Path, typer.Argument(help="CSV, TSV, Parquet, XLSX, NDJSON or .csv.gz export.")
    ],
    preset: PresetOpt = None,
    mapping: MappingOpt = None,
    default_region: RegionOpt = None,
    out: OutOpt = None,
    duplicates: Annotated[
        str | None,
        typer.Option(help="Which row of a duplicate group to keep: first, last (default), reject."),
    ] = None,
    sheet: SheetOpt = None,
    memory: MemoryOpt = None,
    strict: StrictOpt = None,
    null_tokens: NullTokensOpt = None,
    as_json: JsonOpt = False,
    engine: EngineOpt = None,
    runner: RunnerOpt = None,
    dask_address: DaskAddressOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Read, map, normalise and validate an export; write a per-row report. Sends nothing."""
    flags = Flags(
        source=source,
        config=config,
        preset=preset,
        mapping=mapping,
        default_region=default_region,
        duplicates=duplicates,
        sheet=sheet,
        memory=memory,
        strict=strict,
        null_tokens=null_tokens,
        out=out,
        engine=engine,
        runner=runner,
        dask_address=dask_address,
    )
    _guard(lambda: _run("check", flags, as_json))


TargetOpt = Annotated[
    str,
    typer.Option(
        "--target",
        help="Target profile: [targets.NAME] in the config, or sandbox:omni|apten|octanist.",
    ),
]


@app.command("plan")
def plan_command(
    source: Annotated[Path, typer.Argument(help="The export to plan.")],
    target: TargetOpt,
    preset: PresetOpt = None,
    mapping: MappingOpt = None,
    default_region: RegionOpt = None,
    mode: ModeOpt = None,
    blanks: BlanksOpt = None,
    state_file: StateFileOpt = None,
    sheet: SheetOpt = None,
    memory: MemoryOpt = None,
    strict: StrictOpt = None,
    null_tokens: NullTokensOpt = None,
    on_target_edit: TargetEditOpt = None,
    allow_reopen: ReopenOpt = None,
    verify_target: VerifyOpt = None,
    refresh_target: RefreshOpt = None,
    alert_invalid_share: InvalidShareOpt = None,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    engine: EngineOpt = None,
    runner: RunnerOpt = None,
    dask_address: DaskAddressOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Dry run: what an import would create, update or skip, and its requests. Sends nothing."""
    flags = Flags(
        alert_invalid_share=alert_invalid_share,
        on_target_edit=on_target_edit,
        allow_reopen=allow_reopen,
        verify_target=verify_target,
        refresh_target=refresh_target,
        source=source,
        config=config,
        target=target,
        preset=preset,
        mapping=mapping,
        default_region=default_region,
        mode=mode,
        blanks=blanks,
        state_file=state_file,
        sheet=sheet,
        memory=memory,
        strict=strict,
        null_tokens=null_tokens,
        out=out,
        engine=engine,
        runner=runner,
        dask_address=dask_address,
    )
    _guard(lambda: _run("plan", flags, as_json))


ApproveOpt = Annotated[
    bool | None,
    typer.Option(
        "--approve/--no-approve",
        help="Plan, then wait for a person's yes before sending: y/N on a terminal; under "
        "Prefect, the UI's Resume form or leadpipe approve RUN_ID.",
        show_default=False,
    ),
]
ApproveTimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--approve-timeout",
        help="Seconds an --approve run waits for the answer under Prefect (default 3600); "
        "then nothing is sent.",
    ),
]


@app.command("import")
def import_command(
    source: Annotated[Path, typer.Argument(help="The export to import.")],
    target: TargetOpt,
    preset: PresetOpt = None,
    mapping: MappingOpt = None,
    default_region: RegionOpt = None,
    mode: ModeOpt = None,
    blanks: BlanksOpt = None,
    state_file: StateFileOpt = None,
    sheet: SheetOpt = None,
    memory: MemoryOpt = None,
    strict: StrictOpt = None,
    null_tokens: NullTokensOpt = None,
    resume: Annotated[
        str | None, typer.Option(help="Continue run RUN_ID: nothing that succeeded is sent again.")
    ] = None,
    max_failed_ratio: Annotated[
        float | None,
        typer.Option("--max-failed-ratio", help="Exit 1 when more than this share of rows failed."),
    ] = None,
    on_target_edit: TargetEditOpt = None,
    allow_reopen: ReopenOpt = None,
    verify_target: VerifyOpt = None,
    wait: WaitOpt = None,
    refresh_target: RefreshOpt = None,
    alert_failed_share: FailedShareOpt = None,
    alert_invalid_share: InvalidShareOpt = None,
    alert_throttled: ThrottledOpt = None,
    approve: ApproveOpt = None,
    approve_timeout: ApproveTimeoutOpt = None,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    engine: EngineOpt = None,
    runner: RunnerOpt = None,
    dask_address: DaskAddressOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Send the minimal creates and updates to the target; report every row."""
    flags = Flags(
        alert_failed_share=alert_failed_share,
        alert_invalid_share=alert_invalid_share,
        alert_throttled=alert_throttled,
        approve=approve,
        approve_timeout=approve_timeout,
        on_target_edit=on_target_edit,
        allow_reopen=allow_reopen,
        verify_target=verify_target,
        wait=wait,
        refresh_target=refresh_target,
        source=source,
        config=config,
        target=target,
        preset=preset,
        mapping=mapping,
        default_region=default_region,
        mode=mode,
        blanks=blanks,
        state_file=state_file,
        sheet=sheet,
        memory=memory,
        strict=strict,
        null_tokens=null_tokens,
        resume=resume,
        max_failed_ratio=max_failed_ratio,
        out=out,
        engine=engine,
        runner=runner,
        dask_address=dask_address,
    )
    _guard(lambda: _run("import", flags, as_json))


@app.command("reconcile")
def reconcile_command(
    source: Annotated[Path, typer.Argument(help="The export to compare with the target.")],
    target: TargetOpt,
    preset: PresetOpt = None,
    mapping: MappingOpt = None,
    default_region: RegionOpt = None,
    blanks: Annotated[
        str | None,
        typer.Option(help="leave (default: a blank cell is no difference) or clear (it is)."),
    ] = None,
    state_file: StateFileOpt = None,
    sheet: SheetOpt = None,
    memory: MemoryOpt = None,
    null_tokens: NullTokensOpt = None,
    alert_invalid_share: InvalidShareOpt = None,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    engine: EngineOpt = None,
    runner: RunnerOpt = None,
    dask_address: DaskAddressOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Compare the file with the target field by field. Writes nothing to the target."""
    flags = Flags(
        alert_invalid_share=alert_invalid_share,
        source=source,
        config=config,
        target=target,
        preset=preset,
        mapping=mapping,
        default_region=default_region,
        blanks=blanks,
        state_file=state_file,
        sheet=sheet,
        memory=memory,
        null_tokens=null_tokens,
        out=out,
        engine=engine,
        runner=runner,
        dask_address=dask_address,
    )
    _guard(lambda: _run("reconcile", flags, as_json))


@app.command("migrate")
def migrate_command(
    origin: Annotated[
        str,
        typer.Option(
            "--from", help="Where the leads are: a target profile, or an export file of that CRM."
        ),
    ],
    to: Annotated[str, typer.Option("--to", help="The target profile to migrate into.")],
    preset: PresetOpt = None,
    mapping: MappingOpt = None,
    default_region: RegionOpt = None,
    carry_extras: Annotated[
        bool,
        typer.Option(
            "--carry-extras",
            help="Keep fields the target cannot hold in its free-form field (Apten, Octanist).",
        ),
    ] = False,
    sheet: SheetOpt = None,
    memory: MemoryOpt = None,
    strict: StrictOpt = None,
    null_tokens: NullTokensOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan the migration; send nothing.")
    ] = False,
    resume: Annotated[
        str | None, typer.Option(help="Continue run RUN_ID: nothing that succeeded is sent again.")
    ] = None,
    on_target_edit: TargetEditOpt = None,
    allow_reopen: ReopenOpt = None,
    verify_target: VerifyOpt = None,
    wait: WaitOpt = None,
    refresh_target: RefreshOpt = None,
    alert_failed_share: FailedShareOpt = None,
    alert_invalid_share: InvalidShareOpt = None,
    alert_throttled: ThrottledOpt = None,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    engine: EngineOpt = None,
    runner: RunnerOpt = None,
    dask_address: DaskAddressOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Copy every lead of one CRM (its API or an export) into another, without duplicates."""
    flags = Flags(
        alert_failed_share=alert_failed_share,
        alert_invalid_share=alert_invalid_share,
        alert_throttled=alert_throttled,
        on_target_edit=on_target_edit,
        allow_reopen=allow_reopen,
        verify_target=verify_target,
        wait=wait,
        refresh_target=refresh_target,
        origin=origin,
        config=config,
        target=to,
        preset=preset,
        mapping=mapping,
        default_region=default_region,
        carry_extras=carry_extras,
        sheet=sheet,
        memory=memory,
        strict=strict,
        null_tokens=null_tokens,
        dry_run=dry_run,
        resume=resume,
        out=out,
        engine=engine,
        runner=runner,
        dask_address=dask_address,
    )
    _guard(lambda: _run("migrate", flags, as_json))


@app.command("revert")
def revert_command(
    run_id: Annotated[str, typer.Argument(help="The run to undo (its summary.json names it).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan the revert and report it; send nothing.")
    ] = False,
    target: Annotated[
        str | None,
        typer.Option(help="Target profile to write to (default: the run's own profile)."),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(help="Continue revert REVERT_ID: nothing that succeeded is sent again."),
    ] = None,
    wait: WaitOpt = None,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Put back every field run RUN_ID updated; fields changed in the target since are left
    alone, and leads it created are listed (they cannot be deleted through the API)."""

    def _revert() -> None:
        from flows.options import revert_options
        from flows.revert import revert

        options = revert_options(
            config,
            reverts=run_id,
            target=target,
            out=out,
            dry_run=dry_run,
            resume=resume,
            wait=wait,
        )
        with _progress(enabled=not as_json):
            summary = revert(options)
        _finish(summary, as_json)

    _guard(_revert)


def _run(job: Job, flags: Flags, as_json: bool) -> None:
    """Build the job's options once, check where it writes, run it, show what it did; exit 1
    over the failed ratio, 128 + the signal when stopped (130 Ctrl-C, 143 SIGTERM)."""
    options, engine = options_for(job, flags)
    told = _alert_settings(options, flags)  # a bad webhook is a config error before the run
    _check_engine_starts(engine)
    if not as_json:
        _say_where_runs_show(engine, flags)
    made_out_dir = not options.out_dir.exists()
    check_places(options, out_given=flags.out is not None)
    stopping = _Stopping(job, options, _command_words(job, flags, as_json))
    # The terminal's question (--approve, in-process) is not drawn over by the progress bars.
    bars = not as_json and not _asks_here(options, engine)
    try:
        with _progress(enabled=bars), listening(stopping), stop_signals(stopping.say):
            summary = _JOBS[job]()(options, engine)
    except BaseException as exc:
        if made_out_dir:  # left empty (a failed run's scratch is gone): do not leave it
            with contextlib.suppress(OSError):
                options.out_dir.rmdir()
        if isinstance(exc, Stopped):
            raise typer.Exit(exc.exit_code) from None
        raise
    if isinstance(options, SyncOptions):
        summary = _judged(summary, options)
    _finish(summary, as_json)
    if job == "migrate" and not as_json:
        _out.print(f"Crosswalk: {summary.out_dir}/crosswalk.csv")
    if isinstance(options, SyncOptions):
        _say_approval(summary)
    _fail_on_alerts(summary, told, engine)


def _check_engine_starts(engine: Engine) -> None:
    """A ConfigError when the run is a Prefect run with no Prefect server configured and
    Prefect's temporary server cannot start here (a read-only PREFECT_HOME). `auto` never
    gets here: it chooses Prefect only with a server, or for --runner dask, asked for."""
    from flows._prefect import temporary_server_problem

    problem = temporary_server_problem() if engine == "prefect" else None
    if problem is not None:
        raise ConfigError(
            f"{problem}: Prefect's temporary server keeps its database there; set PREFECT_HOME "
            "to a folder you can write, set PREFECT_API_URL to a Prefect server, or use "
            "--engine local"
        )


# The line a command prints on stderr when `--engine auto` runs it in-process (not with --json).
IN_PROCESS_NOTE = (
    "leadpipe: runs in-process; set PREFECT_API_URL or pass --engine prefect to see runs in "
    "the Prefect UI"
)


def _say_where_runs_show(engine: Engine, flags: Flags) -> None:
    """`IN_PROCESS_NOTE`, when `auto` (not an explicit engine) chose in-process."""
    if engine == "local" and engine_setting(flags.engine, load_config(flags.config)) == "auto":
        _err.print(IN_PROCESS_NOTE, highlight=False, markup=False, soft_wrap=True)


class _Stopping:
    """What the one line says when a stop signal ends a run (`flows._signals`): the run id,
    and for an import or migration that reached its push, the command that resumes it. It
    listens to the job's stages to know whether the push started."""

    def __init__(self, job: Job, options: CheckOptions, command: list[str]) -> None:
        self.job, self.options, self.command = job, options, command
        self.pushing = isinstance(options, SyncOptions) and options.resume

    def stage_started(self, name: str) -> None:
        self.pushing = self.pushing or name == "push"

    def stage_finished(self, name: str, seconds: float, peak_mb: float) -> None:
        pass

    def pushed(self, done: int, total: int) -> None:
        pass

    def say(self, stopped: Stopped) -> None:
        _err.print(self.line(stopped), highlight=False, markup=False, soft_wrap=True)

    def line(self, stopped: Stopped) -> str:
        run_id = self.options.run_id
        said = f"leadpipe: interrupted ({stopped.signal_name})"
        writes = isinstance(self.options, SyncOptions) and not self.options.dry_run
        if not writes:
            return f"{said}; run {run_id} sent nothing"
        if not self.pushing:
            return f"{said} before run {run_id} sent anything; run the same command again"
        # Requests cut short stay `sent` in the journal: a resume looks before it re-creates.
        resume = shlex.join([*self.command, "--resume", run_id])
        return f"{said}; continue run {run_id} with: {resume}"


def _command_words(job: Job, flags: Flags, as_json: bool) -> list[str]:
    """The command as the user gave it (`leadpipe import leads.csv --target x ...`), without
    `--resume`: rebuilt from `flags`, whose fields are named like the options."""
    words = ["leadpipe", job]
    if job == "migrate":
        words += ["--from", str(flags.origin), "--to", str(flags.target)]
    else:
        words += [str(flags.source), *(["--target", flags.target] if flags.target else [])]
    for spec in fields(Flags):
        value, name = getattr(flags, spec.name), spec.name.replace("_", "-")
        # --memory/--no-memory and the like are None when not given; --dry-run is False
        if spec.name in _SAID_FIRST or value is None or (value is False and spec.default is False):
            continue
        if isinstance(value, bool):
            words.append(f"--{name}" if value else f"--no-{name}")
        else:
            words += [f"--{name}", str(value)]
    return [*words, "--json"] if as_json else words


# Flags said before the options in `_command_words` (or left out: the resume's own id).
_SAID_FIRST = ("source", "origin", "target", "resume")


def _check_job() -> Callable[[Any, Engine], RunSummary]:
    from flows.check import run_check

    return run_check


def _sync_job() -> Callable[[Any, Engine], RunSummary]:
    from flows.sync import run_sync

    return run_sync


def _reconcile_job() -> Callable[[Any, Engine], RunSummary]:
    from flows.reconcile import run_reconcile

    return run_reconcile


def _migrate_job() -> Callable[[Any, Engine], RunSummary]:
    from flows.migrate import run_migrate

    return run_migrate


# Each command's job, imported when it runs (polars, pandera, ... stay out of `--help`).
_JOBS: dict[Job, Callable[[], Callable[[Any, Engine], RunSummary]]] = {
    "check": _check_job,
    "plan": _sync_job,
    "import": _sync_job,
    "reconcile": _reconcile_job,
    "migrate": _migrate_job,
}


def _finish(summary: RunSummary, as_json: bool) -> None:
    """The summary as JSON on stdout (--json), else the tables for people."""
    if as_json:
        sys.stdout.write(json.dumps(summary.as_json(), default=str) + "\n")
    else:
        _show_summary(summary)


def _alert_settings(options: CheckOptions, flags: Flags) -> Any:
    """Where a breached run is told (`flows._alerts.notify_settings`), for a run that has
    thresholds; None for `check`."""
    if not isinstance(options, SyncOptions):
        return None
    from flows._alerts import notify_settings

    return notify_settings(load_config(flags.config))


def _judged(summary: RunSummary, options: SyncOptions) -> RunSummary:
    from flows._alerts import judged

    return judged(summary, options)


def _fail_on_alerts(summary: RunSummary, told: Any, engine: Engine) -> None:
    """Exit 1 when the run breached a threshold: one line per breach on stderr, naming the
    threshold and the value measured, after one notification where configured."""
    if not summary.alerts:
        return
    if told:
        from flows._alerts import alert_report, notify

        target = summary.target.profile if summary.target else ""
        report = str(Path(summary.out_dir) / "report.html")
        body = alert_report(summary.alerts, run_id=summary.run_id, target=target, report=report)
        for warning in notify(told, body, under_prefect=engine == "prefect"):
            _note(f"warning: {warning}")
    for alert in summary.alerts:
        _note(alert.flag_line())
    raise typer.Exit(1)


def _asks_here(options: CheckOptions, engine: Engine) -> bool:
    """Whether the run asks for approval on this terminal (an in-process --approve import)."""
    asks = isinstance(options, SyncOptions) and options.approve and not options.dry_run
    return asks and engine == "local"


def _say_approval(summary: RunSummary) -> None:
    """One line when an --approve import sent nothing; exit 1 when nobody answered in time."""
    approval = summary.approval
    if approval is None or approval.verdict not in ("rejected", "timed_out"):
        return
    if approval.verdict == "rejected":
        by = f" by {approval.by}" if approval.by else ""
        _note(f"run {summary.run_id}: the plan was rejected{by}; nothing was sent")
        return
    _note(f"run {summary.run_id}: nobody approved the plan in time; nothing was sent")
    raise typer.Exit(1)


ApproveRunOpt = Annotated[str, typer.Argument(help="The run id (its summary.json names it).")]
CommentOpt = Annotated[
    str | None, typer.Option("--comment", help="Why; kept in the run's summary.json.")
]


@app.command("approve")
def approve_command(run_id: ApproveRunOpt, comment: CommentOpt = None) -> None:
    """Send the plan of an --approve import paused under Prefect (needs PREFECT_API_URL)."""
    _guard(lambda: _answer(run_id, True, comment))


@app.command("reject")
def reject_command(run_id: ApproveRunOpt, comment: CommentOpt = None) -> None:
    """Send nothing of an --approve import paused under Prefect; its report says so."""
    _guard(lambda: _answer(run_id, False, comment))


def _answer(run_id: str, approve: bool, comment: str | None) -> None:
    """Resume run `run_id`'s paused flow run with the answer (flows._approval.resume)."""
    from flows._approval import resume

    if not configured_api_url():
        raise ConfigError(
            "leadpipe approve/reject answers a run paused on a Prefect server: set "
            "PREFECT_API_URL to that server (e.g. http://127.0.0.1:4200/api)"
        )
    flow_run = resume(run_id, approve, comment=comment)
    said = "approved: it sends its plan now" if approve else "rejected: it sends nothing"
    _note(f"run {run_id} (flow run {flow_run}) {said}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Where the demo's run directories go.")] = Path(
        "runs/demo"
    ),
    engine: EngineOpt = None,
) -> None:
    """Import a messy sample into the embedded sandbox, edit, re-import, reconcile."""

    def _demo() -> None:
        from flows.demo import run_demo

        def show(title: str, summary: RunSummary) -> None:
            _out.rule(title)
            _show_summary(summary)

        chosen = engine_choice(engine, {})
        _check_engine_starts(chosen)
        _say_where_runs_show(chosen, Flags(engine=engine))
        if chosen == "prefect" and not configured_api_url():
            _err.print("Prefect starts a temporary local server for this process (~15 s) …")
        with _progress(enabled=True):
            steps = run_demo(out, chosen, show)
        _out.rule("Reports")
        for step, summary in steps.items():
            _out.print(f"{step:12} {Path(summary.out_dir) / 'report.html'}")

    _guard(_demo)


@app.command("serve")
def serve_command(
    config: Annotated[Path, typer.Argument(help="leadpipe.toml with [[schedules]] entries.")],
) -> None:
    """Serve one Prefect deployment per [[schedules]] entry (needs PREFECT_API_URL)."""

    def _serve() -> None:
        from flows.schedules import schedule_rows, serve

        table = Table(title="Schedules", show_edge=False)
        for column in ("name", "cron", "timezone", "source", "target", "next run"):
            table.add_column(column, overflow="fold")
        for row in schedule_rows(config):
            table.add_row(*row[:5], row.next_run.isoformat(timespec="minutes"))
        _out.print(table)
        serve(config, say=_note)

    _guard(_serve)


@app.command("doctor")
def doctor_command(
    target: TargetOpt,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the checks as JSON to stdout, nothing else.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Check a target without changing any lead: the key, listing, the update route."""

    def _doctor() -> None:
        from flows.doctor import run_doctor

        check_target(target, load_config(config).get("targets", {}), config)
        diagnosis = run_doctor(target, config)
        if as_json:
            sys.stdout.write(json.dumps(diagnosis.as_json()) + "\n")
        else:
            _out.print(f"target {diagnosis.target} ({diagnosis.vendor})", markup=False)
            for check in diagnosis.checks:
                _out.print(check.line(), markup=False, highlight=False, soft_wrap=True)
        if not diagnosis.ok:
            raise typer.Exit(3)  # the target cannot be used as configured

    _guard(_doctor)


@app.command("sandbox")
def sandbox_command(
    host: Annotated[
        str, typer.Option(help="Address to listen on (keep it on loopback).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8900,
    db: Annotated[
        Path | None, typer.Option(help="SQLite file (default LEADPIPE_HOME/sandbox.db).")
    ] = None,
) -> None:
    """Serve the local stand-in for the Omni, Apten and Octanist APIs (API key: sandbox-key)."""

    def _serve() -> None:
        from sandbox import serve

        database = db or leadpipe_home() / "sandbox.db"
        database.parent.mkdir(parents=True, exist_ok=True)
        _err.print(
            f"sandbox on http://{host}:{port}  (/omni, /apten/v1, /octanist/api, /_sandbox; "
            f"key sandbox-key; state {database})",
            highlight=False,
            soft_wrap=True,
        )
        serve(host, port, database)

    _guard(_serve)


def _upper(value: str | None) -> str | None:
    return value.strip().upper() if value else None


def _guard(action: Callable[[], None]) -> None:
    """Run a command; turn our errors into one line and an exit status, never a traceback.
    Every line passes through `connectors.redact`: no configured secret reaches stderr."""
    try:
        action()
    except typer.Exit:
        raise  # an exit status the command chose (1: over --max-failed-ratio)
    except ImporterError as exc:
        _err.print(
            f"[bold red]leadpipe: error:[/] {escape(_redacted(str(exc)))}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        _err.print("leadpipe: interrupted")
        raise typer.Exit(130) from None
    except OSError as exc:  # the machine's files, not leadpipe: name the path and the cause
        if os.environ.get("LEADPIPE_DEBUG"):
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        _err.print(
            _redacted(f"leadpipe: error: {where}{exc.strerror or exc}"),
            highlight=False,
            markup=False,
        )
        raise typer.Exit(3) from None
    except Exception as exc:  # noqa: BLE001 - the last line of defence for the user
        if os.environ.get("LEADPIPE_DEBUG"):
            raise
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        _err.print(
            _redacted(f"leadpipe: internal error: {type(exc).__name__}: {first_line} ")
            + "(set LEADPIPE_DEBUG=1 for the traceback)",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(3) from None


def _note(text: str) -> None:
    """One `leadpipe: ` line on stderr, as written (no markup)."""
    _err.print(f"leadpipe: {text}", highlight=False, markup=False, soft_wrap=True)


def _redacted(line: str) -> str:
    """`line` with every configured secret masked (`connectors.redact`). Secrets are known
    once a connector read them: before `connectors` is imported there are none to mask."""
    if "connectors" not in sys.modules:
        return line
    from connectors import redact

    return redact(line)


class _StageProgress:
    """The terminal's progress display, as a listener of the job (`flows._events`): a spinner
    per stage with its time, and a bar for the push with its rate and the time left."""

    def __init__(self, bars: Progress) -> None:
        self._bars = bars
        self._stage: TaskID | None = None
        self._push: TaskID | None = None
        self._push_started = 0.0

    def stage_started(self, name: str) -> None:
        self._stage = self._bars.add_task(name, total=None, count="", rate="")

    def stage_finished(self, name: str, seconds: float, peak_mb: float) -> None:
        if self._stage is not None:
            self._bars.update(self._stage, total=1, completed=1)

    def pushed(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self._push is None:
            self._push = self._bars.add_task("sending", total=total, count="", rate="")
            self._push_started = now
        rate = done / max(now - self._push_started, 1e-9)
        self._bars.update(
            self._push, completed=done, count=f"{done:,}/{total:,}", rate=f"{rate:,.0f} rows/s"
        )


@contextmanager
def _progress(enabled: bool) -> Iterator[None]:
    if not enabled or not _err.is_terminal:
        yield
        return
    bars = Progress(
        SpinnerColumn(finished_text="[green]✓[/]"),
        TextColumn("[bold]{task.description:<10}[/]"),
        BarColumn(),
        TextColumn("{task.fields[count]}"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=_err,
        transient=True,
    )
    with bars, listening(_StageProgress(bars)):
        yield


def _show_summary(summary: RunSummary) -> None:
    source, mapping = summary.source, summary.mapping
    how = "detected" if mapping.detected else "chosen"
    encoding = f", {source.encoding}" if source.encoding else ""
    sheet = f", sheet {source.sheet!r}" if source.sheet else ""
    mapped = share_text(mapping.coverage)
    _out.print(
        f"[bold]{summary.rows}[/] rows from {escape(str(source.path))} "
        f"({source.format}{escape(encoding)}{escape(sheet)}); "
        f"preset [bold]{mapping.preset}[/] ({how}, {mapped} of columns mapped)"
    )
    for notice in summary.notices:
        _out.print(f"  {notice}", markup=False, highlight=False)
    counts = Table(title="Outcomes", show_edge=False)
    counts.add_column("outcome")
    counts.add_column("rows", justify="right")
    for outcome, n in summary.counts.items():
        counts.add_row(outcome, str(n))
    _out.print(counts)
    if summary.reasons:
        reasons = Table(title="Top reasons", show_edge=False)
        for column in ("reason", "rows", "first row", "example"):
            reasons.add_column(column, overflow="fold")
        for r in summary.reasons:
            # Text, not markup: a reason may quote `[values.status]` or a cell in brackets.
            reasons.add_row(
                Text(r.reason_code), str(r.count), str(r.example_row), Text(r.example or "")
            )
        _out.print(reasons)
    if summary.warnings:
        said = ", ".join(f"{code} {n}" for code, n in summary.warnings.items())
        _out.print(
            f"rows kept with warnings: {said} (the warnings column of rows.csv says which)",
            markup=False,
            highlight=False,
        )
    if summary.not_sent and summary.target is not None:
        said = ", ".join(f"{field} {n}" for field, n in summary.not_sent.items())
        vendor = summary.target.vendor
        _out.print(
            f"not sent to {vendor} (it cannot take them): {said}", markup=False, highlight=False
        )
    target = summary.target.vendor if summary.target is not None else "the target"
    for line in summary.status_mappings:  # once per word of the file
        _out.print(
            f"{line['rows']} rows: {target} cannot set status '{line['status']}'; "
            f"to send '{line['suggested']}' instead, add to the mapping: {line['line']}",
            markup=False,
            highlight=False,
        )
    if summary.target is not None:
        sent, planned = summary.requests, summary.planned_requests or 0
        retries = f"{sent['retried']} retried, {sent['throttled']} throttled"
        _out.print(
            f"target {summary.target.profile}: {planned} operations planned, "
            f"{sent['sent']} requests sent ({retries})"
        )
    took = f"{summary.seconds:.1f} s, engine {summary.engine}"
    # report.html is for people; rows.csv (one line per source row) for scripts and sheets.
    for where in (
        f"Report: {summary.out_dir}/report.html  ({took})",
        f"Rows:   {summary.out_dir}/rows.csv",
    ):
        _out.print(where, markup=False, highlight=False, soft_wrap=True)


def main() -> None:
    """Console-script entry point."""
    # Prefect's anonymous usage analytics would try to reach the internet on every start.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The terminal shows leadpipe's own progress; Prefect's run logs go to its UI (and API).
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    # Prefect's temporary server takes ~15 s to start; its default 20 s limit fails runs on a
    # busy or slow machine ("Timed out while attempting to connect to ephemeral ... server").
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    width = shutil.get_terminal_size((100, 20)).columns
    _out.width = _err.width = max(width, 80)
    app()


if __name__ == "__main__":
    main()
