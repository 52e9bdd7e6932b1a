"""Exit statuses a caller acts on, each with its one line on stderr: 1 when more rows failed
than --max-failed-ratio allows; 128 + the signal when Ctrl-C (SIGINT, to the whole foreground
process group, as a terminal sends it) or SIGTERM (to the process, as a supervisor sends it)
stops an import: within seconds, with the run id and the command that resumes it, under both
engines. The resumed run then finishes without a duplicate lead.

The importer and the target are processes of their own (tests/sandbox_process.py); the target
answers slowly (its `latency_ms` fault), so requests are in flight when the signal comes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.reliability.support import (
    JournalView,
    importer_env,
    leads_of,
    people,
    write_csv,
)
from tests.sandbox_process import LEADPIPE, SandboxServer, sandbox_server

runner = CliRunner()
ROWS = 120
LATENCY_MS = 1_500  # each request: a push of ROWS takes ~20 s at 8 in flight
STOPPED_WITHIN_S = 10.0
VENDOR = "octanist"


def test_over_max_failed_ratio_exits_1_with_one_line(sandbox_url: str, tmp_path: Path) -> None:
    """6 of 10 rows name an Apten customer profile that does not exist: they fail."""
    source = tmp_path / "leads.csv"
    rows = [
        f"p{i}@example.com,F{i},L{i},+1212555{3000 + i},{'Nope' if i < 6 else 'Default'}"
        for i in range(10)
    ]
    source.write_text("Email,First Name,Last Name,Phone,Customer Profile\n" + "\n".join(rows))
    command = ["import", str(source), "--target", "sandbox:apten", "--engine", "local", "--json"]
    over = runner.invoke(
        app, [*command, "--out", str(tmp_path / "r1"), "--max-failed-ratio", "0.5"]
    )
    assert over.exit_code == 1, over.stderr
    assert over.stderr == "leadpipe: 6 of 10 rows failed (more than --max-failed-ratio 0.5)\n"
    assert '"failed": 6' in over.stdout  # the summary still printed, and written
    assert (tmp_path / "r1" / "summary.json").exists()
    within = runner.invoke(
        app, [*command, "--out", str(tmp_path / "r2"), "--max-failed-ratio", "0.6"]
    )
    assert within.exit_code == 0, within.stderr
    assert within.stderr == ""


@pytest.fixture(scope="module")
def slow_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with sandbox_server(tmp_path_factory.mktemp("sandbox")) as server:
        yield server


def _admin(target: SandboxServer, method: str, path: str, body: object = None) -> None:
    httpx.request(method, f"{target.url}/_sandbox/{path}", json=body, timeout=60).raise_for_status()


def _start(command: list[str], home: Path, target: SandboxServer) -> subprocess.Popen[str]:
    env = importer_env(home, target.url)
    env.pop("PREFECT_API_URL", None)  # `--engine prefect`: its own temporary server
    env.pop("LEADPIPE_ENGINE", None)
    return subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, as a terminal's foreground job
    )


def _wait_for_requests(journal: JournalView, process: subprocess.Popen[str]) -> None:
    """Until the push has journaled requests as sent (the Prefect engine first starts its
    temporary server, ~15 s)."""
    deadline = time.monotonic() + 180
    while not journal._query("SELECT 1 FROM ops WHERE state = 'sent' LIMIT 1"):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the push did not start"
        time.sleep(0.2)
    time.sleep(0.5)


@pytest.mark.parametrize(
    ("engine", "signum", "to_group"),
    [
        ("local", signal.SIGINT, True),
        ("local", signal.SIGTERM, False),
        ("prefect", signal.SIGINT, True),  # Prefect's temporary server in the process group
        ("prefect", signal.SIGTERM, False),
    ],
    ids=["local-ctrl-c", "local-sigterm", "prefect-ctrl-c", "prefect-sigterm"],
)
def test_a_stop_signal_ends_an_import_with_the_command_that_resumes_it(
    engine: str | None,
    signum: signal.Signals,
    to_group: bool,
    slow_target: SandboxServer,
    tmp_path: Path,
) -> None:
    _admin(slow_target, "POST", "reset")
    _admin(slow_target, "PUT", "faults", {VENDOR: {"latency_ms": LATENCY_MS}})
    persons = people(ROWS, VENDOR, seed=17)
    source, out, home = write_csv(tmp_path / "leads.csv", persons), tmp_path / "run", tmp_path
    command = [str(LEADPIPE), "import", str(source), "--target", f"sandbox:{VENDOR}"]
    command += ["--out", str(out), *(["--engine", engine] if engine else [])]
    process = _start(command, home / "home", slow_target)
    journal = JournalView(home / "home" / "journal.db")
    try:
        _wait_for_requests(journal, process)
        sent = time.monotonic()
        if to_group:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # The requests it left in flight land after their latency: not in the next case's target.
        time.sleep(LATENCY_MS / 1000 + 1)
        _admin(slow_target, "PUT", "faults", {VENDOR: {}})
    assert process.returncode == 128 + signum, stderr
    assert took < STOPPED_WITHIN_S, stderr
    name = signal.Signals(signum).name
    resume = f"leadpipe import {source} --target sandbox:{VENDOR} --out {out}"
    resume += f" --engine {engine}" if engine else ""
    said = re.fullmatch(
        rf"leadpipe: interrupted \({name}\); continue run (\S+) with: "
        rf"{re.escape(resume)} --resume \1\n",
        stderr,
    )
    assert said is not None, stderr  # that line, and nothing else: no Prefect crash logs
    assert stdout == ""
    assert not (out / ".scratch").exists()
    run_id = said.group(1)
    assert journal.run_for(source) == run_id
    # The requests in flight stay `sent` (the push journals nothing more when it is stopped):
    # a resume looks each one up before it sends anything again.
    assert journal._query("SELECT count(*) FROM ops WHERE state = 'sent'")[0][0] > 0
    journal.close()
    if engine == "local" and signum == signal.SIGTERM:  # the line's command finishes the run
        _resume(resume, run_id, home / "home", slow_target, persons)


def _resume(
    resume: str, run_id: str, home: Path, target: SandboxServer, persons: list[object]
) -> None:
    """The printed command, as given: every row created once, in-flight ones looked up."""
    words = [str(LEADPIPE), *resume.split()[1:], "--resume", run_id, "--json"]
    env = importer_env(home, target.url)
    done = subprocess.run(words, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    counts = {k: v for k, v in json.loads(done.stdout)["counts"].items() if v}
    assert counts == {"created": ROWS}, counts
    emails = sorted(lead["email"] for lead in leads_of(target.url, VENDOR))
    assert emails == sorted(p.email for p in persons)  # type: ignore[attr-defined]


_STUCK = """
import os, signal, sys, time
from flows._signals import on_forced_exit, stop_signals

def say(stopped):
    print(f"stopped by {stopped.signal_name}", file=sys.stderr, flush=True)

with on_forced_exit(lambda: open(sys.argv[1], "w").write("cleaned")):
    with stop_signals(say, grace_s=float(sys.argv[2])):
        said = "ready"
        while True:  # what Prefect does with an API that does not answer: retry, and retry
            try:
                print(said, flush=True)
                time.sleep(60)
            except KeyboardInterrupt:
                said = "stopping"
"""


@pytest.mark.parametrize("second_signal", [False, True], ids=["grace-ends", "second-signal"])
def test_a_run_that_does_not_unwind_is_ended_by_force(second_signal: bool, tmp_path: Path) -> None:
    """The backstop: a stop that cannot unwind (Prefect retrying calls to an API that went
    away) still ends the process, after one line and its cleanups: at the end of the grace
    period, or at once on a second signal."""
    marker = tmp_path / "cleaned"
    grace_s = 30.0 if second_signal else 2.0
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_STUCK), str(marker), str(grace_s)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        if second_signal:
            assert process.stdout.readline() == "stopping\n", process.communicate()
            process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert stderr == "stopped by SIGTERM\n"
    assert marker.read_text() == "cleaned"
    # at once on a second signal (well before the 30 s grace), else when the grace is over
    assert time.monotonic() - sent < (10.0 if second_signal else grace_s + 5.0)
