"""`leadpipe import` into the sandbox against a bare httpx loop, and a no-change re-run.

One export of N rows (``BENCH_IMPORT_ROWS``; 100,000 at the full size) of new leads:

1. First import: `leadpipe import --target sandbox:octanist --engine local` into an empty
   sandbox *process* (uvicorn on 127.0.0.1, real sockets), a real import that creates the N
   leads: its stages, whole run and push stage are shown.
   The push's goal (≥ 85 % of a bare `httpx.AsyncClient` loop, on every run, loaded machine or
   not) is measured in *interleaved rounds*, because the client, the sandbox server and
   everything else on the machine share 2 cores, and a load that drifts over a minutes-long
   import skews any before/after comparison (78–89 % seen that way; bare rates of one run
   315/s before and 93/s after). ``PUSH_ROUNDS`` pairs, each of ``BENCH_BARE_SAMPLE /
   PUSH_ROUNDS`` creates per side, into one fresh sandbox process: the bare loop (the same
   create bodies, same concurrency 16), then the push (`connectors.push`: a real SQLite
   journal with its group commit, the vendor client, rate limiter, budget, retries), the
   order alternating each round; the goal row is the median of the rounds' ratios. The push
   rounds also give the journal's cost: commits per 1,000 requests and milliseconds per
   commit (time inside the transaction). The import's own push stage against the rounds'
   bare rate is shown too, as information (it drifts with the load).
2. No-change re-run: the same file, same home, same target again. Goals: 0 requests sent, and
   its wall time ≤ 10 % of the first import's.

The first import and the re-run are shared by both rows: a second 100k-lead import would cost
minutes of the 15-minute budget. Every leadpipe run's stages are listed with their seconds and
peak RSS (summary.json's `durations` and `memory_mb`).

Run alone: `.venv/bin/python -m benchmarks.import_throughput`
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks._measure import Measurement, run_measured
from benchmarks._sandbox import HOST, free_port, start_server, wait_ready
from benchmarks._settings import Settings
from benchmarks._table import Row, stage_rows
from benchmarks.check import leadpipe_command, stage_durations, stage_memory

__all__ = ["ImportResult", "measure"]

CONCURRENCY = 16  # the sandbox:<vendor> profiles' concurrency
HEADERS = {"X-API-KEY": "sandbox-key"}
TARGET = "sandbox:octanist"
IMPORT_TIMEOUT_S = 1800.0
PUSH_GOAL = 0.85
PUSH_ROUNDS = 5  # interleaved bare/push pairs; the goal row is the median ratio
RERUN_GOAL = 0.10


@dataclass(frozen=True)
class Round:
    """One interleaved pair: the bare loop's and the push's seconds for the same creates, and
    the journal commits the push needed (with the seconds inside them)."""

    creates: int
    bare_seconds: float
    push_seconds: float
    commits: int
    commit_seconds: float

    @property
    def ratio(self) -> float:
        return self.bare_seconds / self.push_seconds


@dataclass
class ImportResult:
    rows: int
    first: Measurement  # the import that creates the leads
    again: Measurement  # the same file again: nothing to send
    bare_rows: int
    bare_seconds: float
    rounds: tuple[Round, ...] = ()  # the interleaved bare/push pairs

    @property
    def ok(self) -> bool:
        return self.first.ok and self.again.ok

    @property
    def push_seconds(self) -> float:
        return stage_durations(self.first).get("push", float("nan"))

    @property
    def bare_rate(self) -> float:
        return self.bare_rows / self.bare_seconds

    @property
    def push_ratio(self) -> float:
        """The median of the rounds' push/bare rate ratios: the goal's measure."""
        return statistics.median(r.ratio for r in self.rounds) if self.rounds else float("nan")

    def table_rows(self) -> list[Row]:
        return [*self._throughput_rows(), *self._rerun_rows()]

    def caption(self) -> list[str]:
        counts = self.first.extra.get("counts", {})
        requests = self.first.extra.get("requests", {})
        return [
            f"import: {self.rows:,} new leads into {TARGET} (a sandbox process, uvicorn, real "
            f"sockets), concurrency {CONCURRENCY}; first import {counts}, requests {requests}. "
            "push vs bare = the median of interleaved rounds' push rows/s / bare-loop rows/s "
            "(the bare loop sends the same create bodies, no journal, no report); import ratios "
            "= the import's push stage or wall time against the rounds' bare rate."
        ]

    def _throughput_rows(self) -> list[Row]:
        first, push_s = self.first, self.push_seconds
        stage_ratio = (self.rows / push_s) / self.bare_rate if first.ok else float("nan")
        whole_ratio = (self.rows / first.seconds) / self.bare_rate if first.ok else float("nan")
        rounds = self.rounds
        pushed = sum(r.creates for r in rounds)
        commits = sum(r.commits for r in rounds)
        commit_s = sum(r.commit_seconds for r in rounds)
        ratios = " / ".join(f"{r.ratio:.0%}" for r in rounds)
        return [
            Row(
                "push vs bare httpx loop",
                rows=pushed,
                seconds=sum(r.push_seconds for r in rounds),
                rate=pushed / sum(r.push_seconds for r in rounds) if rounds else None,
                measured=f"{self.push_ratio:.0%} (median)",
                goal=f"≥ {PUSH_GOAL:.0%}",
                met=self.push_ratio >= PUSH_GOAL,
                note=f"{len(rounds)} interleaved rounds of {rounds[0].creates:,} creates a side "
                f"(bare, push, order alternating; same sandbox process, concurrency "
                f"{CONCURRENCY}): {ratios}"
                if rounds
                else "",
            ),
            Row(
                "  push: journal commits",
                measured=f"{1000 * commits / max(pushed, 1):.0f} per 1,000 requests",
                note=f"{commits:,} commits for {pushed:,} creates (`sent` before each request "
                "leaves; results ride in the next commit)",
            ),
            Row(
                "  push: time per commit",
                measured=f"{1000 * commit_s / max(commits, 1):.2f} ms",
                note=f"{commit_s:.2f} s inside transactions (SQLite, WAL, on the event loop)",
            ),
            Row(
                "leadpipe import, push stage",
                rows=self.rows,
                seconds=push_s,
                rate=self.rows / push_s,
                peak_mb=first.peak_rss_mb,
                measured=f"{stage_ratio:.0%} of bare loop",
                note=first.note or "information: against the rounds' bare rate, minutes apart",
                failed=not first.ok,
            ),
            Row(
                "leadpipe import, whole run",
                rows=self.rows,
                seconds=first.seconds,
                rate=first.rows_per_second,
                measured=f"{whole_ratio:.0%} of bare loop",
                note="wall time: start-up, read … snapshot … push … report",
            ),
            *stage_rows(self.rows, stage_durations(first), stage_memory(first)),
            Row(
                f"bare httpx loop ({CONCURRENCY} at a time)",
                rows=self.bare_rows,
                seconds=self.bare_seconds,
                rate=self.bare_rate,
                note="the same creates, in the interleaved rounds; rows/s per round: "
                + " / ".join(f"{r.creates / r.bare_seconds:,.0f}" for r in rounds),
            ),
        ]

    def _rerun_rows(self) -> list[Row]:
        again = self.again
        share = again.seconds / self.first.seconds
        sent = again.extra.get("requests", {}).get("sent")
        unchanged = again.extra.get("counts", {}).get("unchanged")
        return [
            Row(
                "no-change re-run, wall time",
                rows=self.rows,
                seconds=again.seconds,
                rate=again.rows_per_second if again.ok else None,
                peak_mb=again.peak_rss_mb,
                measured=f"{share:.1%} of first import",
                goal=f"≤ {RERUN_GOAL:.0%}",
                met=again.ok and share <= RERUN_GOAL,
                note=again.note or (f"{unchanged:,} rows unchanged" if unchanged else ""),
                failed=not again.ok,
            ),
            Row(
                "no-change re-run, requests sent",
                measured=f"{sent}" if sent is not None else "?",
                goal="0",
                met=sent == 0,
            ),
            *stage_rows(self.rows, stage_durations(again), stage_memory(again)),
        ]


def measure(settings: Settings, log: Callable[[str], None]) -> ImportResult:
    rows = settings.import_rows
    each = max(1, min(rows, settings.bare_sample) // PUSH_ROUNDS)
    with tempfile.TemporaryDirectory(prefix="leadpipe-bench-import-") as tmp:
        work = Path(tmp)
        source = write_export(work / "leads.csv", rows)
        rounds = _rounds(work, each, log)
        with sandbox(work / "sandbox.log") as url:
            log(f"leadpipe import of {rows:,} new leads into a sandbox process …")
            first = run_import("leadpipe import", source, url, work / "home", work / "first")
            log(f"the same import again (no change), {rows:,} rows …")
            again = run_import("no-change re-run", source, url, work / "home", work / "again")
    bare_rows = each * len(rounds)
    bare_seconds = sum(r.bare_seconds for r in rounds)
    return ImportResult(rows, first, again, bare_rows, bare_seconds, tuple(rounds))


def _rounds(work: Path, each: int, log: Callable[[str], None]) -> list[Round]:
    """`PUSH_ROUNDS` pairs of `each` creates a side into one fresh sandbox process: the bare
    loop and the push one right after the other (order alternating), so both see the same load.
    Every round creates new leads (the sandbox's cost per create does not grow with its size)."""
    rounds = []
    with sandbox(work / "sandbox-rounds.log") as url:
        log(f"push vs bare loop: {PUSH_ROUNDS} interleaved rounds of {each:,} creates a side …")
        for k in range(PUSH_ROUNDS):
            bare_from, push_from = 7_000_000 + 2 * k * each, 7_000_000 + (2 * k + 1) * each
            if k % 2 == 0:
                bare = asyncio.run(bare_loop(url, each, start=bare_from))
                pushed = asyncio.run(push_loop(url, each, work / f"journal-{k}", push_from))
            else:
                pushed = asyncio.run(push_loop(url, each, work / f"journal-{k}", push_from))
                bare = asyncio.run(bare_loop(url, each, start=bare_from))
            rounds.append(Round(each, bare, *pushed))
            log(f"round {k + 1}: push at {rounds[-1].ratio:.0%} of the bare loop")
    return rounds


async def push_loop(base_url: str, rows: int, home: Path, start: int) -> tuple[float, int, float]:
    """Seconds, journal commits and seconds inside them for `connectors.push` of the same
    creates as `bare_loop` (the sandbox:octanist profile's client, a SQLite journal)."""
    from connectors import PlannedOp, open_client, open_journal, push, sandbox_profile

    ops = []
    for i in range(start, start + rows):
        email, first, last, phone = _lead(i)
        fields = {"email": email, "first_name": first, "last_name": last, "phone": phone}
        ops.append(PlannedOp(f"b{i:012d}", i, "create", fields, keys={"email": email}))
    journal = open_journal(home, None)
    try:
        journal.start_run("bench", profile=TARGET, source="bench", mode="upsert")
        journal.plan(
            "bench",
            [{"op_id": o.op_id, "source_row": i, "op": "create"} for i, o in enumerate(ops)],
        )
        async with open_client(sandbox_profile("octanist", base_url)) as client:
            started = time.perf_counter()
            report = await push(client, journal, "bench", ops, concurrency=CONCURRENCY)
            seconds = time.perf_counter() - started
    finally:
        journal.close()
    failed = sum(r.state != "succeeded" for r in report.results.values())
    if failed:
        raise RuntimeError(f"the push round failed {failed} of {rows} creates")
    return seconds, report.commits, report.commit_seconds


def _lead(i: int) -> tuple[str, str, str, str]:
    """Email, first name, last name, phone: unique and valid for every i below 8,000,000."""
    return (
        f"lead{i}@example.com",
        f"First{i}",
        f"Last{i}",
        f"+1212{200 + (i // 10000) % 800:03d}{i % 10000:04d}",
    )


def write_export(path: Path, rows: int) -> Path:
    with path.open("w") as out:
        out.write("Email,First Name,Last Name,Phone\n")
        out.writelines(",".join(_lead(i)) + "\n" for i in range(rows))
    return path


def run_import(name: str, source: Path, base_url: str, home: Path, out: Path) -> Measurement:
    """One `leadpipe import --engine local --json`: wall time, peak RSS, summary."""
    env = {**os.environ, "LEADPIPE_SANDBOX_URL": base_url, "LEADPIPE_HOME": str(home)}
    command = [*leadpipe_command(), "import", str(source), "--target", TARGET]
    command += ["--engine", "local", "--out", str(out), "--json"]
    run = run_measured(command, env=env, timeout=IMPORT_TIMEOUT_S)
    summary: dict[str, Any] = run.json_stdout() or {}
    rows = summary.get("rows", 0)
    return Measurement(
        name=name,
        rows=rows if isinstance(rows, int) else 0,
        seconds=run.seconds,
        peak_rss_mb=run.peak_rss_mb,
        ok=run.returncode == 0 and bool(summary),
        note="" if run.returncode == 0 else f"failed (exit {run.returncode}): {run.stderr_tail()}",
        extra=summary,
    )


async def bare_loop(base_url: str, rows: int, start: int = 0) -> float:
    """Seconds for the same creates sent by a bare httpx loop at the same concurrency."""
    bodies = [
        {"email": e, "phone": p, "name": f"{f} {last}"}
        for e, f, last, p in map(_lead, range(start, start + rows))
    ]
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=base_url, headers=HEADERS, limits=limits, timeout=30
    ) as client:
        queue = iter(bodies)

        async def worker() -> None:
            for body in queue:
                (await client.post("/octanist/api/leads", json=body)).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return time.perf_counter() - started


@contextmanager
def sandbox(log_path: Path) -> Iterator[str]:
    """A fresh sandbox process (in-memory database) for the block; yields its base URL."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    with log_path.open("wb") as log:
        server = start_server(port, log)
        try:
            asyncio.run(_wait(url, server))
            yield url
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


async def _wait(base_url: str, server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        await wait_ready(client, server)


def main() -> int:
    from rich.console import Console

    from benchmarks._table import build_table

    progress = Console(stderr=True)
    result = measure(Settings.from_env(), progress.log)
    table = build_table("leadpipe import", [result.table_rows()], result.caption())
    Console(width=200).print(table)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
