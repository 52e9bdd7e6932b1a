"""A crash in the middle of a push: every request that left is journaled `sent` or later.

The transport answers the first `k` creates, then raises (a bug, a kill): `push` raises it,
and the journal shows each request the transport saw as `sent` at the moment it was seen
(the `sent` commit comes before the request leaves), and `sent` or `succeeded` afterwards:
the answered ones `succeeded` (their results are committed on the way out), none `planned`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from connectors import Journal, PlannedOp, open_client, push, sandbox_profile, sqlite_url

ANSWERED = 7  # requests answered before the transport crashes
OPS = 60


class Crash(RuntimeError):
    """Not an httpx error: nothing in the client catches it."""


def _ops() -> list[PlannedOp]:
    return [
        PlannedOp(f"op{i}", i + 2, "create", {"email": f"l{i}@x.io", "first_name": "A"})
        for i in range(OPS)
    ]


def test_a_crash_after_k_requests_leaves_every_sent_request_journaled(tmp_path: Path) -> None:
    journal = Journal(sqlite_url(tmp_path / "journal.db"))
    journal.start_run("r", profile="p", source="f.csv", mode="upsert")
    journal.plan("r", [{"op_id": o.op_id, "source_row": o.source_row, "op": o.op} for o in _ops()])
    seen: dict[str, str] = {}  # op id -> its journal state when its request reached the transport

    def handler(request: httpx.Request) -> httpx.Response:
        op_id = "op" + json.loads(request.content)["email"].removeprefix("l").split("@")[0]
        states = journal.ops("r")
        seen[op_id] = states.filter(states["op_id"] == op_id)["state"].item()
        if len(seen) > ANSWERED:
            raise Crash("the transport fell over")
        return httpx.Response(201, json={"success": True, "data": {"id": f"L-{op_id}"}})

    async def run() -> None:
        profile = sandbox_profile("octanist", "http://sandbox.test")
        async with open_client(profile, transport=httpx.MockTransport(handler)) as client:
            await push(client, journal, "r", _ops(), concurrency=4)

    with pytest.raises(Crash):
        asyncio.run(run())

    assert len(seen) > ANSWERED  # it did crash mid-push
    assert set(seen.values()) == {"sent"}  # committed before each request left
    after = dict(journal.ops("r").select("op_id", "state").iter_rows())
    reached = set(seen)
    assert {after[o] for o in reached} <= {"sent", "succeeded"}
    answered = [o for o, state in after.items() if state == "succeeded"]
    assert len(answered) == ANSWERED  # the answered results were committed on the way out
    assert set(answered) <= reached
    # nothing that never reached the transport claims more than `sent`
    assert all(after[o] in ("planned", "sent") for o in set(after) - reached)
    assert sum(state == "planned" for state in after.values()) >= OPS - len(reached) - 4
