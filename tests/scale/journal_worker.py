"""One of several processes writing one run's ops into one journal (tests/scale).

    python -m tests.scale.journal_worker URL WORKER WORKERS OPS CONTESTED GO_FILE

Waits for GO_FILE (so the workers start together), opens the journal, starts and plans the
whole run (every worker races to), then pushes its share (op i where i % WORKERS == WORKER)
through a GroupCommit: `sent`, then `succeeded` with target `L<i>`, drained at the end as the
push drains it. Meanwhile it also writes to
the first CONTESTED ops, which every worker touches (attempts and request id only, in its own
shuffled order and in two statement shapes), so writers overlap on rows. Prints its commits.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from pathlib import Path

from connectors import GroupCommit, Journal, OpResult

RUN = "scale-run"


def main(url: str, worker: int, workers: int, n_ops: int, contested: int, go: Path) -> None:
    deadline = time.monotonic() + 60
    while not go.exists():  # a start line, not a retry
        assert time.monotonic() < deadline, "never told to go"
        time.sleep(0.005)
    journal = Journal(url)
    journal.start_run(RUN, profile="sandbox:octanist", source="leads.csv", mode="upsert")
    journal.plan(
        RUN, [{"op_id": f"op{i:05d}", "source_row": i + 2, "op": "create"} for i in range(n_ops)]
    )
    commits = asyncio.run(_push(journal, worker, workers, n_ops, contested))
    journal.close()
    print(json.dumps({"worker": worker, "commits": commits}))


async def _push(journal: Journal, worker: int, workers: int, n_ops: int, contested: int) -> int:
    log = GroupCommit(journal, RUN)
    gate = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        async with gate:
            await log.sent(f"op{i:05d}")
            await asyncio.sleep(0)  # the request would be in flight here
            result = OpResult("succeeded", target_id=f"L{i}", http_status=201, attempts=1)
            await log.record(f"op{i:05d}", result)

    mine = [one(i) for i in range(worker, n_ops, workers)]
    await asyncio.gather(*mine, _contest(journal, worker, contested))
    await log.drain()  # results ride in the next commit: the end of a push waits for them
    log.close()
    return log.commits


async def _contest(journal: Journal, worker: int, contested: int) -> None:
    order = list(range(contested))
    random.Random(worker).shuffle(order)
    for start in range(0, contested, 7):
        updates = [
            (f"op{i:05d}", {"request_id": f"w{worker}"} if i % 2 else {"error_code": f"w{worker}"})
            for i in order[start : start + 7]
        ]
        await asyncio.to_thread(journal.apply, RUN, updates)


if __name__ == "__main__":
    url, worker, workers, n_ops, contested, go = sys.argv[1:]
    main(url, int(worker), int(workers), int(n_ops), int(contested), Path(go))
