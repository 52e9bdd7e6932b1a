"""`run_stages` records each stage's peak resident memory next to its duration."""

from __future__ import annotations

import time

from flows._engine import PeakRSS, Stage, run_locally, run_stages, stage_memory

MB = 2**20


def _hold(name: str, megabytes: int) -> Stage[int]:
    def run(state: int) -> int:
        block = bytearray(megabytes * MB)  # zero-filled: every page is touched, so resident
        # Held for a few samples, as a real stage holds its frames: the sampler needs the GIL,
        # which the allocation keeps, and when the process peaked higher earlier (other tests
        # in this process) getrusage's lifetime peak does not see this block either.
        time.sleep(PeakRSS.SAMPLE_S * 5)
        return state + len(block) // MB

    return Stage(name, run)


def test_each_stage_gets_its_own_peak_rss() -> None:
    stages = [_hold("before", 1), _hold("big", 300), _hold("after", 1)]

    state, durations = run_stages(stages, 0, run_locally)

    assert state == 302
    memory = stage_memory(durations)
    assert list(memory) == list(durations) == ["before", "big", "after"]
    assert memory["big"] >= memory["before"] + 290
    # the 300 MB were given back: the next stage's peak is its own, not the process's lifetime
    assert 0 < memory["after"] < memory["big"] - 250


def test_a_plain_durations_dict_has_no_memory() -> None:
    assert stage_memory({"read": 0.1}) == {}
