"""A job tells its listeners what it does: every stage in order, and the push as it goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import Flags, listening, options_for, run_sync
from flows._dask import DaskMapper
from flows._partitions import LocalMapper
from flows.options import DaskSettings
from tests.conftest import SAMPLES


class _Heard:
    def __init__(self) -> None:
        self.stages: list[str] = []
        self.finished: list[str] = []
        self.progress: list[tuple[int, int]] = []

    def stage_started(self, name: str) -> None:
        self.stages.append(name)

    def stage_finished(self, name: str, seconds: float, peak_mb: float) -> None:
        self.finished.append(name)

    def pushed(self, done: int, total: int) -> None:
        self.progress.append((done, total))


def test_an_import_tells_every_stage_and_its_push_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADPIPE_HOME", str(tmp_path / "home"))
    flags = Flags(
        source=SAMPLES / "hubspot_contacts.csv",
        target="sandbox:octanist",
        engine="local",
        out=tmp_path / "run",
    )
    options, engine = options_for("import", flags)
    heard = _Heard()
    with listening(heard):
        summary = run_sync(options, engine)
    order = ["read", "map", "normalise", "validate", "dedupe", "snapshot", "match", "diff"]
    assert heard.stages == [*order, "plan", "push", "report"] == heard.finished
    assert list(summary.durations) == heard.stages
    total = summary.planned_requests
    # The push tells its progress at most every 0.1 s (a bar needs no more), and always the end.
    done = [n for n, of in heard.progress if of == total]
    assert total and heard.progress and len(done) == len(heard.progress)
    assert done == sorted(set(done)) and done[-1] == total


def test_a_listener_hears_nothing_once_its_block_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADPIPE_HOME", str(tmp_path / "home"))
    heard = _Heard()
    with listening(heard):
        pass
    flags = Flags(source=SAMPLES / "hubspot_contacts.csv", engine="local", out=tmp_path / "c")
    options, engine = options_for("check", flags)
    from flows import run_check

    run_check(options, engine)
    assert heard.stages == []


def test_partitions_per_mapper() -> None:
    # here: the configured size; on Dask at least `partitions` of them, none larger
    assert LocalMapper().rows_per_part(250_000, 1_000) == 250_000
    dask = DaskMapper(DaskSettings(partitions=4))
    assert dask.rows_per_part(250_000, 1_000) == 250
    assert dask.rows_per_part(250_000, 10_000_000) == 250_000
    assert dask.rows_per_part(250_000, 0) == 1
    keys = [f"op{i}" for i in range(40)]
    batches = dask.batches(keys, key=lambda k: k)
    assert len(batches) == 4 and sorted(k for b in batches for k in b) == sorted(keys)
    assert dask.batches(keys, key=lambda k: k) == batches  # the same on every attempt
    assert LocalMapper().batches(keys, key=lambda k: k) == [keys]
