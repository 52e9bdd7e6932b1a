"""`Run.stage` records each stage's peak resident memory next to its duration, and tells the
listeners."""

from __future__ import annotations

import time

from flows._events import listening
from flows._runner import PeakRSS, Run

MB = 2**20


def _hold(megabytes: int) -> int:
    block = bytearray(megabytes * MB)  # zero-filled: every page is touched, so resident
    # Held for a few samples, as a real stage holds its frames: the sampler needs the GIL,
    # which the allocation keeps, and when the process peaked higher earlier (other tests
    # in this process) getrusage's lifetime peak does not see this block either.
    time.sleep(PeakRSS.SAMPLE_S * 5)
    return len(block) // MB


class _Heard:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def stage_started(self, name: str) -> None:
        self.events.append(("started", name))

    def stage_finished(self, name: str, seconds: float, peak_mb: float) -> None:
        self.events.append(("finished", name))

    def pushed(self, done: int, total: int) -> None:
        self.events.append(("pushed", f"{done}/{total}"))


def test_each_stage_gets_its_own_peak_rss() -> None:
    heard = _Heard()
    with listening(heard):
        run = Run.of("local")
        held = [
            run.stage(name, _hold, mb) for name, mb in (("before", 1), ("big", 300), ("after", 1))
        ]

    assert held == [1, 300, 1]
    memory = run.times.memory_mb
    assert list(memory) == list(run.times) == ["before", "big", "after"]
    assert memory["big"] >= memory["before"] + 290
    # the 300 MB were given back: the next stage's peak is its own, not the process's lifetime
    assert 0 < memory["after"] < memory["big"] - 250
    assert heard.events == [
        (event, name) for name in ("before", "big", "after") for event in ("started", "finished")
    ]


def test_a_step_that_ran_in_a_later_stage_is_counted_in_its_own() -> None:
    run = Run.of("local")
    run.stage("early", lambda: None)
    before = run.times["early"]

    def late() -> None:
        run.clock.add("early", 0.25)  # a recorded step of `early` ran during `late`

    run.stage("late", late)
    assert run.times["early"] == round(before + 0.25, 4)
    assert run.times["late"] < 0.25 - 0.2  # its own seconds only, not early's
