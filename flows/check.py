"""`leadpipe check`: read -> map -> normalise -> validate -> dedupe -> report, nothing sent.

`check` is the job, written once; `run_check` runs it with either engine (in-process, or as
the Prefect flow `check-leads`, one task per stage).
"""

from __future__ import annotations

from typing import Any

from flows._artifacts import publish_summary
from flows._prefect import failing_quietly, lazy_flow
from flows._prepare import prepare, report_check
from flows._runner import Engine, Run, run_job
from flows._summary import Clock, check_summary
from flows.options import CheckOptions
from reports import RunDir
from schemas.summary import RunSummary

__all__ = ["check", "check_leads", "run_check"]


def check(options: CheckOptions, engine: Engine) -> RunSummary:
    """The check job: its stages in order, then the run directory; the summary it wrote."""
    clock, run, rundir = Clock.start(), Run.of(engine, options.dask), RunDir(options.out_dir)
    file, parts = prepare(options, run, rundir)
    reported = run.stage("report", report_check, parts, rundir)
    del parts  # written: what report.html needs is in `reported`
    summary = check_summary(options, file, reported, run, clock)
    rundir.write_summary(summary)
    rundir.write_html(reported.page, summary)
    rundir.remove_scratch()
    publish_summary(summary)
    return summary


@lazy_flow(name="check-leads", validate_parameters=False, persist_result=False)
def check_leads(options: CheckOptions) -> Any:
    """The check job as a Prefect flow: one task per stage.

    An `ImporterError` ends the run Failed with the error's one-line message (no traceback).
    """
    return failing_quietly(check)(options, "prefect")


def run_check(options: CheckOptions, engine: Engine) -> RunSummary:
    """Run `leadpipe check` with the chosen engine; returns the summary it wrote."""
    return run_job(check, check_leads, options, engine)
