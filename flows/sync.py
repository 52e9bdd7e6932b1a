"""`leadpipe plan` and `leadpipe import`: the check stages, then the target.

    read -> map -> normalise -> validate -> dedupe -> snapshot -> match -> diff -> plan
         -> (approve) -> push -> report

`plan` is the same job as a dry run (push sends nothing). `import --approve` waits for a
person's answer between plan and push (`flows._approval`); a plan not approved is pushed as
a dry run. `run_sync` runs it with either engine (in-process, or as the Prefect flow
`import-leads`, one task per stage).
"""

from __future__ import annotations

from typing import Any

from flows._approval import approve_plan, noted, push_options
from flows._prefect import failing_quietly, lazy_flow
from flows._prepare import prepare
from flows._runner import Engine, Run, run_job
from flows._summary import Clock, sync_summary
from flows._target import (
    diff_rows,
    finish_sync,
    holding,
    plan_rows,
    push_plan,
    reach_target,
    refuse_unknown_resume,
    report_sync,
    sync_target,
)
from flows.options import SyncOptions
from reports import RunDir
from schemas.summary import RunSummary
from schemas.vendors import VENDORS

__all__ = ["import_leads", "run_sync", "sync"]


def sync(options: SyncOptions, engine: Engine) -> RunSummary:
    """The plan/import job: its stages in order, then the run directory; the summary."""
    refuse_unknown_resume(options)
    clock, run, rundir = Clock.start(), Run.of(engine, options.dask), RunDir(options.out_dir)
    file, parts = prepare(options, run, rundir)
    target = sync_target(options)
    with holding(options, target):  # one writer per target, from its read to the report
        target, (parts, snapshot, leads) = reach_target(
            parts, options, run, rundir, file.mapping, target
        )
        vendor = VENDORS[target.profile.vendor]
        base = snapshot.base
        parts = run.stage("diff", diff_rows, parts, leads, base, vendor, file.mapping, options)
        del leads  # the target's leads in the file's normal form were for `diff` alone
        parts = run.stage("plan", plan_rows, parts, vendor, options, target.profile)
        approval = approve_plan(parts, options, run)  # in the flow itself: a task cannot pause
        sending = push_options(options, approval)
        pushed = run.fanned("push", push_plan, parts, sending, target, run.mapper, run.listener)
        reported = run.stage(
            "report", report_sync, parts, pushed, snapshot, target, options, rundir
        )
        del parts  # written: what report.html needs is in `reported`
        summary = sync_summary(options, file, target, snapshot, pushed, reported, run, clock)
        summary = noted(summary, approval)
        finish_sync(summary, reported, pushed, target, options, rundir)
    return summary


@lazy_flow(name="import-leads", validate_parameters=False, persist_result=False)
def import_leads(options: SyncOptions) -> Any:
    """plan / import as a Prefect flow: one task per stage; our errors end it Failed, one line."""
    return failing_quietly(sync)(options, "prefect")


def run_sync(options: SyncOptions, engine: Engine) -> RunSummary:
    """Run `leadpipe plan` (dry run) or `leadpipe import` with the chosen engine."""
    return run_job(sync, import_leads, options, engine)
