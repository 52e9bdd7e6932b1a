"""The approval gate of `leadpipe import --approve`: the job plans, then a person says yes
before anything is sent (one step of `flows.sync`, between `plan` and `push`).

Two ways to ask, never mixed:

- in-process (`--engine local`, or `auto` without PREFECT_API_URL): on a terminal the plan's
  counts and top reasons are shown on stderr and the question is `Send? [y/N]`; with no
  terminal (stdin not a tty) nobody can answer, so the run stops with one line
  (`ApprovalNeeded`, exit 2) before anything is sent. Tests inject the answer (`answering`).
- under Prefect (`--engine prefect`, schedules): the plan's counts, reasons and a sample of
  the requests are published as artifacts, the flow run is tagged `leadpipe-run:<run id>`,
  and it pauses for an `ApprovalInput` (approve, by, comment) for `approve_timeout` seconds.
  The Prefect UI's Resume form answers it, or `leadpipe approve|reject RUN_ID` (`resume`).
  No answer in time is `timed_out`; the flow run is set Running again to write its report.

What the person decides is an `ApprovalFacts` (schemas/summary.py): only `approved` sends.
A plan that sends no request is not asked about (`nothing_to_send`). The target's lease is
held while the question waits: the plan stays true until it is sent.
"""

from __future__ import annotations

import contextlib
import functools
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import polars as pl

from flows._partitions import Parts
from flows._runner import Run
from flows.exceptions import ConfigError
from flows.options import SyncOptions
from schemas.exceptions import CannotProceedError
from schemas.fields import PLAN_OUTCOMES
from schemas.frames import PLAN_COLUMNS
from schemas.summary import ApprovalFacts, RunSummary
from transforms.plan import requested
from transforms.report import count_outcomes, top_reasons

if TYPE_CHECKING:
    from uuid import UUID

__all__ = [
    "RUN_TAG",
    "ApprovalNeeded",
    "Asker",
    "PausedRuns",
    "PlanView",
    "PrefectPausedRuns",
    "answering",
    "approve_plan",
    "noted",
    "push_options",
    "resume",
]

# The tag that names a paused flow run by leadpipe's run id (`leadpipe approve RUN_ID`).
RUN_TAG = "leadpipe-run:"
# Planned requests shown to the person deciding (the Prefect artifact; the terminal shows
# counts and reasons only).
SAMPLE_ROWS = 20
# How often a paused flow run asks the Prefect API whether it was answered.
POLL_S = 5
_SAMPLE_COLUMNS = (*PLAN_COLUMNS[1:], "outcome", "email", "phone")


class ApprovalNeeded(ConfigError):
    """`--approve` in-process with no terminal to ask on (exit 2): nothing was sent."""


@dataclass(frozen=True)
class PlanView:
    """What the person deciding sees: rows per planned outcome, the requests the push would
    make, the top reasons, and a sample of the requests."""

    counts: dict[str, int]
    requests: int
    reasons: list[dict[str, Any]]
    sample: pl.DataFrame

    @classmethod
    def of(cls, parts: Parts) -> PlanView:
        """The view of an import's plan (spilled or in memory: no recorded steps): its few
        columns it counts read in one pass, and the first partitions' requests as the sample."""
        if not parts.items:  # a file of no rows
            return cls({}, 0, [], pl.DataFrame())
        shown = ["source_row", "outcome", "reason_code", "reason", "op"]
        rows = parts.scan().select(shown).collect()
        samples: list[pl.DataFrame] = []
        for frame in parts.frames():  # the first partitions with requests are enough
            samples.append(requested(frame).head(SAMPLE_ROWS))
            if sum(sample.height for sample in samples) >= SAMPLE_ROWS:
                break
        sample = pl.concat(samples, how="vertical_relaxed").head(SAMPLE_ROWS) if samples else rows
        return cls(
            counts={k: v for k, v in count_outcomes(rows, PLAN_OUTCOMES).items() if v},
            requests=requested(rows).height,
            reasons=top_reasons(rows, limit=5),
            sample=sample.select(c for c in _SAMPLE_COLUMNS if c in sample.columns),
        )

    def lines(self) -> list[str]:
        """The plan in a few lines of text (the terminal's question, a log line)."""
        counts = ", ".join(f"{outcome} {n}" for outcome, n in self.counts.items())
        said = [f"plan: {counts or 'no rows'}; {self.requests} requests to send"]
        said += [
            f"  {r['reason_code']}: {r['count']} rows (first row {r['example_row']})"
            for r in self.reasons
        ]
        return said


# Who answers in-process: given the plan, True (send), False (do not), or None (nobody can
# answer here: no terminal).
Asker = Callable[[PlanView], "bool | None"]
_ASKERS: list[Asker] = []


@contextlib.contextmanager
def answering(ask: Asker) -> Iterator[None]:
    """`ask` answers every in-process approval question while the block runs (tests, or a
    caller with its own way to ask); otherwise the terminal is asked (`_ask_terminal`)."""
    _ASKERS.append(ask)
    try:
        yield
    finally:
        _ASKERS.remove(ask)


def approve_plan(parts: Parts, options: SyncOptions, run: Run) -> ApprovalFacts | None:
    """The gate: None when the run does not ask (a plan, or an import without --approve), else
    what became of the plan. Under Prefect the flow run pauses; in-process someone is asked."""
    if options.dry_run or not options.approve:
        return None
    view = PlanView.of(parts)
    if view.requests == 0:
        return ApprovalFacts("nothing_to_send")
    if run.engine == "prefect":
        return _ask_prefect(view, options)
    return _ask_here(view, options)


def push_options(options: SyncOptions, approval: ApprovalFacts | None) -> SyncOptions:
    """The options the push runs with: a plan that is not approved is pushed as a dry run (it
    sends nothing, and its rows keep their planned outcomes: would_create, would_update)."""
    if approval is None or approval.sends:
        return options
    return replace(options, dry_run=True)


def noted(summary: RunSummary, approval: ApprovalFacts | None) -> RunSummary:
    """The summary with what became of the plan; a plan not sent says so in its notices."""
    if approval is None:
        return summary
    notices = summary.notices
    if approval.verdict in ("rejected", "timed_out"):
        how = "rejected" + (f" by {approval.by}" if approval.by else "")
        if approval.verdict == "timed_out":
            how = "not answered in time"
        comment = f" ({approval.comment})" if approval.comment else ""
        notices = (
            *notices,
            f"Nothing was sent: the plan was {how}{comment}; rows show what it would have done.",
        )
    return replace(summary, approval=approval, notices=notices)


def _ask_here(view: PlanView, options: SyncOptions) -> ApprovalFacts:
    ask = _ASKERS[-1] if _ASKERS else _ask_terminal
    answer = ask(view)
    if answer is None:
        raise ApprovalNeeded(
            f"run {options.run_id} needs approval and nothing was sent: run it on a terminal, "
            "or under Prefect (--engine prefect, PREFECT_API_URL) and answer in the UI or with "
            f"`leadpipe approve RUN_ID`"
        )
    return ApprovalFacts("approved" if answer else "rejected", by=_user())


def _ask_terminal(view: PlanView) -> bool | None:
    """The plan on stderr and `Send? [y/N]`; None without a terminal to ask on."""
    if not sys.stdin.isatty():
        return None
    import typer

    for line in view.lines():
        typer.echo(line, err=True)
    return bool(typer.confirm("Send?", default=False, err=True))


def _user() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without one)
        return None


@functools.cache
def _input_model() -> type[Any]:
    """The Prefect form the pause waits for (Prefect is imported here, by Prefect runs)."""
    from prefect.input import RunInput

    class ApprovalInput(RunInput):
        """Send this plan? approve: true sends it; false sends nothing."""

        approve: bool = False
        by: str | None = None
        comment: str | None = None

    return ApprovalInput


def _ask_prefect(view: PlanView, options: SyncOptions) -> ApprovalFacts:
    """Publish the plan, tag the flow run with the run id, pause it for the answer."""
    from prefect.context import FlowRunContext
    from prefect.exceptions import FlowPauseTimeout
    from prefect.flow_runs import pause_flow_run
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        raise ApprovalNeeded(
            f"run {options.run_id} needs approval and nothing was sent: Prefect's temporary "
            "server of this process cannot be answered from the UI or `leadpipe approve`; set "
            "PREFECT_API_URL to a Prefect server (`prefect server start`), or run it on a "
            "terminal with --engine local"
        )
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise ConfigError("--approve under Prefect needs a flow run to pause")
    flow_run = context.flow_run
    _publish_plan(view, options)
    _tag(flow_run.id, [*flow_run.tags, f"{RUN_TAG}{options.run_id}"])
    form = _input_model().with_initial_data(description=_description(view, options))
    try:
        given = pause_flow_run(
            wait_for_input=form,
            timeout=math.ceil(options.approve_timeout),  # Prefect counts whole seconds
            poll_interval=POLL_S,
        )
    except FlowPauseTimeout:
        _running_again(flow_run.id)
        return ApprovalFacts("timed_out")
    verdict = "approved" if given.approve else "rejected"
    return ApprovalFacts(verdict, by=given.by, comment=given.comment)


def _description(view: PlanView, options: SyncOptions) -> str:
    lines = "\n".join(f"- {line.strip()}" for line in view.lines())
    return (
        f"## Send run {options.run_id} to {options.target}?\n\n{lines}\n\n"
        f"Tick **approve** to send it, leave it off to send nothing (or run `leadpipe approve "
        f"{options.run_id}` / `leadpipe reject {options.run_id}`). See the `import-plan` "
        "artifacts for the reasons and a sample of the requests."
    )


def _publish_plan(view: PlanView, options: SyncOptions) -> None:
    from prefect.artifacts import create_table_artifact

    counts = [{"what": k, "rows": v} for k, v in view.counts.items()]
    counts.append({"what": "requests to send", "rows": view.requests})
    create_table_artifact(counts, key="import-plan", description=f"Plan of {options.run_id}")
    if view.reasons:
        create_table_artifact(
            view.reasons, key="import-plan-reasons", description="Top reasons of the plan"
        )
    # at most SAMPLE_ROWS rows: a list (changed_fields) reads as text in the UI's table
    sample = [
        {k: ", ".join(v) if isinstance(v, list) else v for k, v in row.items()}
        for row in view.sample.to_dicts()
    ]
    create_table_artifact(
        sample,
        key="import-plan-sample",
        description=f"The first {len(sample)} planned requests",
    )


def _tag(flow_run_id: UUID, tags: list[str]) -> None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.update_flow_run(flow_run_id, tags=sorted(set(tags)))


def _running_again(flow_run_id: UUID) -> None:
    """A pause that timed out leaves the flow run Paused: set it Running, so the report's
    tasks run and the run ends with its run directory written."""
    from prefect.client.orchestration import get_client
    from prefect.states import Running

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run_id, Running(), force=True)


class PausedRuns(Protocol):
    """Where `leadpipe approve|reject` finds a paused flow run and answers it (a fake in tests)."""

    def paused(self, run_id: str) -> Sequence[UUID]: ...

    def resume(self, flow_run_id: UUID, answer: dict[str, Any]) -> None: ...


class PrefectPausedRuns:
    """The Prefect API's paused flow runs tagged with a leadpipe run id."""

    def paused(self, run_id: str) -> Sequence[UUID]:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import (
            FlowRunFilter,
            FlowRunFilterState,
            FlowRunFilterStateType,
            FlowRunFilterTags,
        )
        from prefect.client.schemas.objects import StateType

        wanted = FlowRunFilter(
            tags=FlowRunFilterTags(all_=[f"{RUN_TAG}{run_id}"]),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])),
        )
        with get_client(sync_client=True) as client:
            return [run.id for run in client.read_flow_runs(flow_run_filter=wanted)]

    def resume(self, flow_run_id: UUID, answer: dict[str, Any]) -> None:
        from prefect.exceptions import FlowPauseTimeout, NotPausedError
        from prefect.flow_runs import resume_flow_run

        try:
            resume_flow_run(flow_run_id, run_input=answer)
        except (NotPausedError, FlowPauseTimeout, RuntimeError) as exc:
            raise CannotProceedError(
                f"flow run {flow_run_id} could not be resumed: {str(exc).splitlines()[0]}"
            ) from None


def resume(
    run_id: str,
    approve: bool,
    *,
    by: str | None = None,
    comment: str | None = None,
    runs: PausedRuns | None = None,
) -> UUID:
    """Answer the paused flow run of leadpipe run `run_id`; its flow run id. A ConfigError
    when no flow run of that id waits for an answer."""
    runs = runs or PrefectPausedRuns()
    found = runs.paused(run_id)
    if not found:
        raise ConfigError(
            f"no paused import of run {run_id} waits for approval on this Prefect server "
            "(check the id, and that PREFECT_API_URL names the server the run went to)"
        )
    answer = {"approve": approve, "by": by or _user(), "comment": comment}
    runs.resume(found[0], answer)
    return found[0]
