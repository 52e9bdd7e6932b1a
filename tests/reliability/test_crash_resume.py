"""Kill `leadpipe import` with SIGKILL at random points and resume it until a run finishes:
the target then holds exactly one lead per source person, with the row's values, and the
final run's rows.parquet has one outcome per source row. All three vendors, side by side,
each a chain of real `leadpipe import` processes against one sandbox process.

Where each attempt dies comes from a seeded schedule that covers the whole run:

- `planning`: a random share of the time an attempt takes to reach its push;
- `push`: once a random number of further operations are done in the attempt. The cut points
  are uniform over the push, so kills land all along it with requests in flight: some
  journaled `sent` but not yet applied (killed between the journal write and the request),
  some applied but not yet journaled (between the request and the journal write);
- `report`: as soon as the run directory is being written.

The triggers watch the journal (read from outside; WAL never blocks the writer) and the run
directory; leadpipe has no kill hook. After each kill the test records what was cut off.
`make soak` runs the same with LEADPIPE_SOAK_KILLS kills per vendor (default 100), and then
again as a scheduler would: every attempt a plain `leadpipe import` with a new run id, never
`--resume` (the same guarantees, except that each run reports only what it did itself).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import polars as pl
import pytest

from tests.reliability.support import (
    VENDORS,
    JournalView,
    Person,
    expected,
    import_command,
    importer_env,
    leads_of,
    older,
    people,
    present,
    write_csv,
)
from tests.sandbox_process import sandbox_server

ROWS = 5_000
CHANGED, SAME = 60, 40  # people the target holds before the import: to update, unchanged
KILLS = 20
SEED = 20261122
ATTEMPT_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Kill:
    """Where one attempt dies (see the module docstring)."""

    at: Literal["planning", "push", "report"]
    ops: int = 0  # push: once this many more operations are done in the attempt
    share: float = 0.0  # planning: this share of the time an attempt needs to reach its push
    delay: float = 0.0  # seconds after the trigger


def schedule(rng: random.Random, kills: int, ops: int) -> list[Kill]:
    """`kills` kills: a few in planning at random places, the push cut at uniform random
    points over its first 85 %, then one while the run directory is being written (more
    would only repeat it: the push is over)."""
    plannings, reports = max(1, kills // 7), 1
    cuts = sorted(rng.uniform(0, 0.85 * ops) for _ in range(kills - plannings - reports))
    plan = [
        Kill("push", ops=max(1, round(b - a)), delay=rng.uniform(0, 0.03))
        for a, b in zip([0.0, *cuts], cuts, strict=False)
    ]
    for _ in range(plannings):
        plan.insert(rng.randrange(len(plan) + 1), Kill("planning", share=rng.uniform(0.6, 1.0)))
    return plan + [Kill("report", delay=rng.uniform(0, 0.1)) for _ in range(reports)]


@dataclass
class Attempt:
    """One `leadpipe import` process and what a kill cut off."""

    kill: Kill | None
    exit_code: int
    seconds: float
    phase: str = "finished"  # by evidence: before-snapshot, planning, push, report, finished
    done: int = 0  # operations finished by this attempt
    sent_not_applied: int = 0  # journaled `sent`, no lead in the target
    sent_applied: int = 0  # journaled `sent`, the lead is in the target
    follow_up_pending: int = 0  # created, its follow-up update cut off


@dataclass
class Importer:
    """One vendor's import, attempt after attempt."""

    vendor: str
    folder: Path
    sandbox: str
    persons: list[Person] = field(default_factory=list)
    run_id: str | None = None
    to_push: float = 4.0  # seconds an attempt needs to reach its push (learned as it goes)
    attempts: list[Attempt] = field(default_factory=list)
    resume: bool = True  # False: every attempt is a plain re-run (a new run id), as cron does
    wall: datetime = field(default_factory=lambda: datetime.now(UTC))  # the attempt's start

    def __post_init__(self) -> None:
        self.home, self.out = self.folder / "home", self.folder / "run"
        self.source = self.folder / "leads.csv"
        self.journal = JournalView(self.home / "journal.db")
        self.persons = people(ROWS, self.vendor, SEED)

    def prepare(self) -> None:
        """The target already holds CHANGED + SAME of the people (older values for CHANGED)."""
        before = [older(p, self.vendor) for p in self.persons[:CHANGED]]
        before += self.persons[CHANGED : CHANGED + SAME]
        command = import_command(
            write_csv(self.folder / "before.csv", before), self.vendor, self.folder / "before"
        )
        done = subprocess.run(command, env=self._env(), capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        write_csv(self.source, self.persons)

    def _env(self) -> dict[str, str]:
        return importer_env(self.home, self.sandbox)

    def attempt(self, kill: Kill | None) -> Attempt:
        wall = datetime.now(UTC)
        if not self.resume:
            self.run_id, self.wall = None, wall  # this attempt's run, once it has started
        started, base = time.monotonic(), self._done()
        run_id = self.run_id if self.resume else None
        command = import_command(self.source, self.vendor, self.out, run_id)
        with (
            (self.folder / "stdout.json").open("wb") as out,
            (self.folder / "stderr.log").open("ab") as err,
        ):
            process = subprocess.Popen(command, env=self._env(), stdout=out, stderr=err)
            try:
                if kill is not None:
                    self._kill_when(process, kill, started, base, wall)
                code = process.wait(ATTEMPT_TIMEOUT_S)
            finally:
                if process.poll() is None:
                    process.kill()
        self.run_id = self.run_id or self._run()
        attempt = Attempt(kill, code, time.monotonic() - started, done=self._done() - base)
        if code == -signal.SIGKILL:
            self._what_was_cut_off(attempt, wall)
        self.attempts.append(attempt)
        return attempt

    def _run(self) -> str | None:
        """The run of this import: the newest of its source (a plain re-run: one started in
        this attempt, else none yet)."""
        if self.resume:
            return self.journal.run_for(self.source)
        since = self.wall.isoformat(timespec="milliseconds")
        return self.journal.run_for(self.source, since=since)

    def _done(self) -> int:
        run_id = self.run_id or self._run()
        return self.journal.done(run_id) if run_id else 0

    def _kill_when(
        self,
        process: subprocess.Popen[bytes],
        kill: Kill,
        started: float,
        base: int,
        wall: datetime,
    ) -> None:
        """Poll the journal and the run directory until the trigger fires, then SIGKILL."""
        pushing = False
        while process.poll() is None:
            elapsed, done = time.monotonic() - started, self._done() - base
            if done > 0 and not pushing:
                pushing = True
                self.to_push = 0.7 * self.to_push + 0.3 * elapsed
            if (
                (kill.at == "planning" and elapsed >= kill.share * self.to_push)
                or (kill.at == "push" and done >= kill.ops)
                or self._writing_report(wall)
            ):
                time.sleep(kill.delay)
                os.kill(process.pid, signal.SIGKILL)
                return
            time.sleep(0.02)

    def _writing_report(self, since: datetime) -> bool:
        return _written_since(self.out, since)

    def _what_was_cut_off(self, attempt: Attempt, wall: datetime) -> None:
        assert self.run_id is not None or attempt.done == 0
        since = wall.isoformat(timespec="milliseconds")
        cut = self.journal.in_flight(self.run_id, since) if self.run_id else []
        creates = [row for row, op, target in cut if op == "create" and target is None]
        by_row = {p.row: p for p in self.persons}
        held = present(self.sandbox, self.vendor, [by_row[r] for r in creates])
        attempt.sent_applied, attempt.sent_not_applied = len(held), len(creates) - len(held)
        attempt.follow_up_pending = sum(1 for _, op, t in cut if op == "create" and t)
        if _written_since(self.out, wall):
            attempt.phase = "report"
        elif attempt.done or cut:
            attempt.phase = "push"
        elif _written_since(self.home / "state", wall):
            attempt.phase = "planning"  # the snapshot was stored: past reading the file
        else:
            attempt.phase = "before-snapshot"  # starting up, reading or validating the file


def _written_since(folder: Path, since: datetime) -> bool:
    """A file under `folder` written since `since`, not counting Prefect's files or the
    preparation's scratch partitions (`.scratch`: the run directory holds them from the read on)."""
    if not folder.exists():
        return False
    stamp = since.timestamp()
    ignored = {"prefect", ".scratch"}
    files = (p for p in folder.rglob("*") if p.is_file() and not ignored & set(p.parts))
    return any(p.stat().st_mtime >= stamp for p in files)


def _kill_and_resume(importer: Importer, kills: int) -> Importer:
    importer.prepare()
    rng = random.Random(f"{SEED}:{importer.vendor}")
    for kill in schedule(rng, kills, ROWS - SAME):
        attempt = importer.attempt(kill)
        assert attempt.exit_code == -signal.SIGKILL, (importer.vendor, attempt)
    final = importer.attempt(None)
    assert final.exit_code == 0, (importer.vendor, (importer.folder / "stderr.log").read_text())
    return importer


def _check_nothing_lost_or_duplicated(importer: Importer) -> dict[str, object]:
    vendor, persons = importer.vendor, importer.persons
    rows = pl.read_parquet(importer.out / "rows.parquet")
    assert sorted(rows["source_row"].to_list()) == [p.row for p in persons]  # one row each
    outcome = dict(zip(rows["source_row"], rows["outcome"], strict=True))
    target_of = dict(zip(rows["source_row"], rows["target_id"], strict=True))
    if importer.resume:
        # Whichever attempt wrote a row, the final report says what this run did to it.
        assert {outcome[p.row] for p in persons[:CHANGED]} == {"updated"}
        assert {outcome[p.row] for p in persons[CHANGED : CHANGED + SAME]} == {"unchanged"}
        assert {outcome[p.row] for p in persons[CHANGED + SAME :]} == {"created"}
    else:
        # A plain re-run reports what it did itself: what earlier runs wrote reads unchanged.
        assert set(outcome.values()) <= {"created", "updated", "unchanged"}, Counter(
            outcome.values()
        )

    leads = leads_of(importer.sandbox, vendor)
    copies = Counter(lead["email"] for lead in leads)
    assert copies.most_common(1)[0][1] == 1, f"{vendor}: duplicates {copies.most_common(3)}"
    by_email = {lead["email"]: lead for lead in leads}
    assert set(by_email) == {p.email for p in persons}  # nothing lost, nothing extra
    for p in persons:
        lead = by_email[p.email]
        assert {k: v for k, v in lead.items() if k != "id"} == expected(p, vendor), p
        assert target_of[p.row] == lead["id"], p  # created/updated rows name their lead

    summary = json.loads((importer.folder / "stdout.json").read_text())
    counts = Counter(outcome.values())
    assert {k: v for k, v in summary["counts"].items() if v} == dict(counts)
    if importer.resume:
        assert importer.journal.runs_for(importer.source) == 1
    # The final run rewrote every report and snapshot file: no half-written one is left over.
    state = importer.home / "state"
    assert [*importer.out.rglob("*.partial"), *state.rglob("*.partial")] == []
    return _stats(importer, counts, len(leads))


def _stats(importer: Importer, counts: Counter[str], leads: int) -> dict[str, object]:
    killed = [a for a in importer.attempts if a.exit_code == -signal.SIGKILL]
    return {
        "vendor": importer.vendor,
        "kills": len(killed),
        "phases": dict(Counter(a.phase for a in killed)),
        "sent_not_applied": sum(a.sent_not_applied for a in killed),
        "sent_applied": sum(a.sent_applied for a in killed),
        "follow_up_pending": sum(a.follow_up_pending for a in killed),
        "outcomes": dict(counts),
        "leads": leads,
        "duplicates": 0,
        "seconds": round(sum(a.seconds for a in importer.attempts), 1),
        "resume": importer.resume,
    }


def _run_all(tmp_path: Path, kills: int, *, resume: bool = True) -> list[dict[str, object]]:
    with sandbox_server(tmp_path) as sandbox:
        importers = []
        for vendor in VENDORS:
            (tmp_path / vendor).mkdir()
            importers.append(Importer(vendor, tmp_path / vendor, sandbox.url, resume=resume))
        with ThreadPoolExecutor(len(importers)) as pool:
            finished = list(pool.map(lambda i: _kill_and_resume(i, kills), importers))
        stats = [_check_nothing_lost_or_duplicated(i) for i in finished]
        for importer in finished:
            importer.journal.close()
    for line in stats:
        print(json.dumps(line))  # the figures for the record, shown with -s
    return stats


def test_killed_imports_resume_without_losing_or_duplicating_a_lead(tmp_path: Path) -> None:
    stats = _run_all(tmp_path, KILLS)
    for line in stats:
        assert line["kills"] == KILLS
        phases = line["phases"]
        assert isinstance(phases, dict) and phases.get("push", 0) >= KILLS // 2, line
        assert phases.get("report", 0) >= 1, line


@pytest.mark.soak
def test_soak_many_more_kills(tmp_path: Path) -> None:
    kills = int(os.environ.get("LEADPIPE_SOAK_KILLS", "100"))
    for line in _run_all(tmp_path, kills):
        assert line["kills"] == kills


@pytest.mark.soak
def test_soak_plain_reruns_after_kills(tmp_path: Path) -> None:
    """As a scheduler runs it: after each kill a plain `leadpipe import`, never `--resume`."""
    kills = int(os.environ.get("LEADPIPE_SOAK_KILLS", "100"))
    for line in _run_all(tmp_path, kills, resume=False):
        assert line["kills"] == kills
