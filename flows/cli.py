"""The `leadpipe` command line (Typer). Parses arguments, calls a job, shows the outcome.

Exit status: 0 the run finished (row problems are in the report); 2 usage or config error;
3 the run could not proceed (unreadable file, ...). Errors are one line on stderr, never a
traceback (LEADPIPE_DEBUG=1 shows it). With --json, stdout carries the summary and nothing else.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
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

from flows.config import (
    CheckOptions,
    dask_choice,
    engine_choice,
    leadpipe_home,
    load_config,
    new_run_id,
    pick,
    sync_options,
)
from schemas.exceptions import ImporterError

__all__ = ["app", "main"]

app = typer.Typer(
    name="leadpipe",
    help="Bulk lead importer: check, plan and load lead exports into Omni, Apten and Octanist.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_err = Console(stderr=True)
_out = Console()

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="leadpipe.toml with defaults for any option.")
]
EngineOpt = Annotated[
    str | None, typer.Option("--engine", help="prefect (default; env LEADPIPE_ENGINE) or local.")
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
StateFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--state-file", help="An export of the target to compare with, instead of reading it."
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
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet name (default: the first).")] = None,
    as_json: JsonOpt = False,
    engine: EngineOpt = None,
    runner: RunnerOpt = None,
    dask_address: DaskAddressOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Read, map, normalise and validate an export; write a per-row report. Sends nothing."""
    args = dict(locals())
    _guard(lambda: _check(args, as_json))


def _check(args: dict[str, Any], as_json: bool) -> None:
    conf = load_config(args["config"])
    run_id = new_run_id()
    mapping = pick(args["mapping"], conf, "mapping")
    engine = engine_choice(args["engine"], conf)
    options = CheckOptions(
        source=args["source"],
        out_dir=Path(pick(args["out"], conf, "out", f"runs/{run_id}")),
        run_id=run_id,
        home=leadpipe_home(),
        preset=pick(args["preset"], conf, "preset"),
        mapping=Path(mapping) if mapping else None,
        default_region=_upper(pick(args["default_region"], conf, "default_region")),
        duplicates=pick(args["duplicates"], conf, "duplicates", "last"),
        sheet=pick(args["sheet"], conf, "sheet"),
        dask=dask_choice(args["runner"], args["dask_address"], conf, engine),
    )
    from flows.check import run_check

    with _progress(enabled=not as_json):
        summary = run_check(options, engine)
    _finish(summary, as_json)


# Arguments of a command that are not options of the job.
_NOT_FLAGS = ("source", "config", "engine", "as_json", "runner", "dask_address")

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
    out: OutOpt = None,
    as_json: JsonOpt = False,
    engine: EngineOpt = None,
    runner: RunnerOpt = None,
    dask_address: DaskAddressOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Dry run: what an import would create, update or skip, and its requests. Sends nothing."""
    args = dict(locals())
    _guard(lambda: _sync(args, as_json, dry_run=True, resume=None))


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
    resume: Annotated[
        str | None, typer.Option(help="Continue run RUN_ID: nothing that succeeded is sent again.")
    ] = None,
    max_failed_ratio: Annotated[
        float | None,
        typer.Option("--max-failed-ratio", help="Exit 1 when more than this share of rows failed."),
    ] = None,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    engine: EngineOpt = None,
    runner: RunnerOpt = None,
    dask_address: DaskAddressOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Send the minimal creates and updates to the target; report every row."""
    args = dict(locals())
    _guard(lambda: _sync(args, as_json, dry_run=False, resume=resume))


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
    out: OutOpt = None,
    as_json: JsonOpt = False,
    engine: EngineOpt = None,
    runner: RunnerOpt = None,
    dask_address: DaskAddressOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Compare the file with the target field by field. Writes nothing to the target."""
    args = dict(locals())

    def _reconcile() -> None:
        from flows.reconcile import run_reconcile

        conf = load_config(args["config"])
        flags = {k: v for k, v in args.items() if k not in _NOT_FLAGS}
        options = sync_options(
            conf, source=args["source"], run_id=new_run_id(), dry_run=True, **flags
        )
        engine = engine_choice(args["engine"], conf)
        dask = dask_choice(args["runner"], args["dask_address"], conf, engine)
        with _progress(enabled=not as_json):
            summary = run_reconcile(replace(options, dask=dask), engine)
        _finish(summary, as_json)

    _guard(_reconcile)


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
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan the migration; send nothing.")
    ] = False,
    resume: Annotated[
        str | None, typer.Option(help="Continue run RUN_ID: nothing that succeeded is sent again.")
    ] = None,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    engine: EngineOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Copy every lead of one CRM (its API or an export) into another, without duplicates."""
    args = dict(locals())

    def _migrate() -> None:
        from flows.migrate import migrate_options, run_migrate

        conf = load_config(args["config"])
        flags = {
            k: v
            for k, v in args.items()
            if k not in (*_NOT_FLAGS, "origin", "to", "carry_extras", "resume")
        }
        options = migrate_options(
            conf,
            origin=origin,
            run_id=resume or new_run_id(),
            carry_extras=carry_extras,
            target=to,
            **flags,
        )
        with _progress(enabled=not as_json):
            summary = run_migrate(options, engine_choice(args["engine"], conf))
        _finish(summary, as_json)
        if not as_json:
            _out.print(f"Crosswalk: {summary['out_dir']}/crosswalk.csv")

    _guard(_migrate)


def _sync(args: dict[str, Any], as_json: bool, *, dry_run: bool, resume: str | None) -> None:
    conf = load_config(args["config"])
    run_id = resume or new_run_id()
    flags = {k: v for k, v in args.items() if k not in _NOT_FLAGS}
    options = sync_options(conf, source=args["source"], run_id=run_id, dry_run=dry_run, **flags)
    engine = engine_choice(args["engine"], conf)
    options = replace(options, dask=dask_choice(args["runner"], args["dask_address"], conf, engine))
    from flows.sync import run_sync

    try:
        with _progress(enabled=not as_json):
            summary = run_sync(options, engine)
    except KeyboardInterrupt:
        # Requests cut short stay `sent` in the journal: a resume looks before it re-creates.
        _err.print(
            f"leadpipe: interrupted; continue with --resume {run_id}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(130) from None
    _finish(summary, as_json)
    _fail_over_ratio(summary, pick(args.get("max_failed_ratio"), conf, "max_failed_ratio", 1.0))


def _finish(summary: dict[str, Any], as_json: bool) -> None:
    """The summary as JSON on stdout (--json), else the tables for people."""
    if as_json:
        sys.stdout.write(json.dumps(summary, default=str) + "\n")
    else:
        _show_summary(summary)


def _fail_over_ratio(summary: dict[str, Any], ratio: float) -> None:
    """Exit 1 when the share of failed rows is above `--max-failed-ratio` (default 1: never)."""
    failed = summary["counts"].get("failed", 0)
    if summary["rows"] and failed / summary["rows"] > ratio:
        _err.print(
            f"leadpipe: {failed} of {summary['rows']} rows failed "
            f"(more than --max-failed-ratio {ratio})",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


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

        def show(title: str, summary: dict[str, Any]) -> None:
            _out.rule(title)
            _show_summary(summary)

        chosen = engine_choice(engine, {})
        if chosen == "prefect" and not os.environ.get("PREFECT_API_URL"):
            _err.print("Prefect starts a temporary local server for this process (~15 s) …")
        with _progress(enabled=True):
            steps = run_demo(out, chosen, show)
        _out.rule("Reports")
        for step, summary in steps.items():
            _out.print(f"{step:12} {Path(summary['out_dir']) / 'report.html'}")

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
        serve(config)

    _guard(_serve)


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
    """Run a command; turn our errors into one line and an exit status, never a traceback."""
    try:
        action()
    except ImporterError as exc:
        _err.print(
            f"[bold red]leadpipe: error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        _err.print("leadpipe: interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:  # noqa: BLE001 - the last line of defence for the user
        if os.environ.get("LEADPIPE_DEBUG"):
            raise
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        _err.print(
            f"leadpipe: internal error: {type(exc).__name__}: {first_line} "
            "(set LEADPIPE_DEBUG=1 for the traceback)",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(3) from None


class _StageProgress(logging.Handler):
    """Turns the stage and push log lines into rich progress rows: a spinner per stage with its
    time, and a bar for the push with its rate and the time left."""

    def __init__(self, bars: Progress) -> None:
        super().__init__(logging.INFO)
        self._bars = bars
        self._stage: TaskID | None = None
        self._push: TaskID | None = None

    def emit(self, record: logging.LogRecord) -> None:
        args: tuple[Any, ...] = record.args if isinstance(record.args, tuple) else ()
        if record.name == "connectors._push" and len(args) >= 3:
            done, total, rate = int(args[0]), int(args[1]), float(args[2])
            if self._push is None:
                self._push = self._bars.add_task("sending", total=total, count="", rate="")
            self._bars.update(
                self._push,
                completed=done,
                count=f"{done:,}/{total:,}",
                rate=f"{rate:,.0f} rows/s",
            )
        elif record.msg == "stage %s started" and args:
            self._stage = self._bars.add_task(str(args[0]), total=None, count="", rate="")
        elif str(record.msg).startswith("stage %s finished") and self._stage is not None:
            self._bars.update(self._stage, total=1, completed=1)


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
    loggers = [logging.getLogger(name) for name in ("flows._engine", "connectors._push")]
    handler = _StageProgress(bars)
    with bars:
        for one in loggers:
            one.addHandler(handler)
            one.setLevel(logging.INFO)
        try:
            yield
        finally:
            for one in loggers:
                one.removeHandler(handler)


def _show_summary(summary: dict[str, Any]) -> None:
    source, mapping = summary["source"], summary["mapping"]
    how = "detected" if mapping["detected"] else "chosen"
    encoding = f", {source['encoding']}" if source["encoding"] else ""
    _out.print(
        f"[bold]{summary['rows']}[/] rows from {source['path']} ({source['format']}{encoding}); "
        f"preset [bold]{mapping['preset']}[/] ({how}, {mapping['coverage']:.0%} of columns mapped)"
    )
    counts = Table(title="Outcomes", show_edge=False)
    counts.add_column("outcome")
    counts.add_column("rows", justify="right")
    for outcome, n in summary["counts"].items():
        counts.add_row(outcome, str(n))
    _out.print(counts)
    if summary["reasons"]:
        reasons = Table(title="Top reasons", show_edge=False)
        for column in ("reason", "rows", "first row", "example"):
            reasons.add_column(column, overflow="fold")
        for r in summary["reasons"]:
            reasons.add_row(r["reason_code"], str(r["count"]), str(r["example_row"]), r["example"])
        _out.print(reasons)
    if summary.get("target"):
        sent, planned = summary["requests"], summary.get("planned_requests", 0)
        retries = f"{sent['retried']} retried, {sent['throttled']} throttled"
        _out.print(
            f"target {summary['target']['profile']}: {planned} operations planned, "
            f"{sent['sent']} requests sent ({retries})"
        )
    took = f"{summary['seconds']:.1f} s, engine {summary['engine']}"
    _out.print(f"Report: {summary['out_dir']}/rows.csv  ({took})")


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
