"""One writer per target: overlapping imports of one file create each lead once.

Two `leadpipe import` processes of one file into one target at once (a cron overlap, a manual
run during a scheduled one) share the journal's lease on the target: the second waits for the
first (`--wait`) and then finds every lead made, or stops at once with one line naming the
run that holds the target.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from connectors import hold_lease, lease_key, open_journal, sandbox_profile
from tests.reliability.support import (
    import_command,
    importer_env,
    leads_of,
    people,
    write_csv,
)

ROWS = 120


@pytest.mark.parametrize("vendor", ["octanist", "omni", "apten"])
def test_overlapping_imports_create_each_lead_once(
    sandbox_url: str, tmp_path: Path, vendor: str
) -> None:
    persons = people(ROWS, vendor, seed=5)
    source = write_csv(tmp_path / "leads.csv", persons)
    env = importer_env(tmp_path / "home", sandbox_url)
    runs = [
        subprocess.Popen(
            [*import_command(source, vendor, tmp_path / f"run{n}"), "--wait", "300"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(2)
    ]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err.decode()[-2000:]
    leads = leads_of(sandbox_url, vendor)
    assert sorted(lead["email"] for lead in leads) == sorted(p.email for p in persons)


def test_an_import_into_a_target_another_run_holds_stops_with_one_line(
    sandbox_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    journal = open_journal(home, None)
    profile = sandbox_profile("octanist", sandbox_url)
    key = lease_key("octanist", profile.base_url)
    holder = f"{os.uname().nodename}:{os.getpid()}"  # this test's process: alive
    assert journal.take_lease(key, "20261207T050000Z-abcdef", holder, stale=lambda _: False) is None
    source = write_csv(tmp_path / "leads.csv", people(3, "octanist", seed=1))
    done = subprocess.run(
        import_command(source, "octanist", tmp_path / "run"),
        env=importer_env(home, sandbox_url),
        capture_output=True,
        timeout=120,
    )
    err = done.stderr.decode()
    assert done.returncode == 3, err
    assert "being written to by run 20261207T050000Z-abcdef" in err and "--wait" in err
    assert "Traceback" not in err and leads_of(sandbox_url, "octanist") == []
    journal.release_lease(key, "20261207T050000Z-abcdef")
    again = subprocess.run(
        import_command(source, "octanist", tmp_path / "run2"),
        env=importer_env(home, sandbox_url),
        capture_output=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr.decode()[-2000:]
    journal.close()


def test_a_lease_of_a_killed_run_on_this_host_is_taken_over_at_once(tmp_path: Path) -> None:
    journal = open_journal(tmp_path, None)
    dead = f"{os.uname().nodename}:{2**22 + 7}"  # above Linux's pid_max: no such process
    assert journal.take_lease("t", "killed", dead, stale=lambda _: False) is None
    with hold_lease(journal, "t", "next", wait=0):  # no TargetBusy, no waiting
        held = journal.take_lease("t", "third", "h:1", stale=lambda _: False)
        assert held is not None and held["run_id"] == "next"
    assert journal.take_lease("t", "third", "h:1", stale=lambda _: False) is None
    journal.close()


@pytest.mark.parametrize("vendor", ["octanist", "omni", "apten"])
def test_a_killed_import_then_a_plain_re_run_creates_each_lead_once(
    sandbox_url: str, tmp_path: Path, vendor: str
) -> None:
    """A scheduler never passes --resume: after a SIGKILL mid-push, a plain re-run of the file
    reads the target before it creates (the killed run's leads are there), takes over the dead
    run's lease, and ends with one lead per person."""
    persons = people(ROWS, vendor, seed=9)
    source = write_csv(tmp_path / "leads.csv", persons)
    env = importer_env(tmp_path / "home", sandbox_url)
    slow = {vendor: {"latency_ms": 40}}
    httpx.put(f"{sandbox_url}/_sandbox/faults", json=slow).raise_for_status()
    first = subprocess.Popen(
        import_command(source, vendor, tmp_path / "run1"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:
        log = httpx.get(f"{sandbox_url}/_sandbox/requests", params={"vendor": vendor}).json()
        if sum(e["method"] == "POST" for e in log) >= ROWS // 3:
            break
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    httpx.put(f"{sandbox_url}/_sandbox/faults", json={vendor: {}}).raise_for_status()
    made = len(leads_of(sandbox_url, vendor))
    assert 0 < made < ROWS  # killed mid-push
    again = subprocess.run(
        import_command(source, vendor, tmp_path / "run2"), env=env, capture_output=True, timeout=300
    )
    assert again.returncode == 0, again.stderr.decode()[-2000:]
    leads = leads_of(sandbox_url, vendor)
    assert sorted(lead["email"] for lead in leads) == sorted(p.email for p in persons)
