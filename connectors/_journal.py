"""The journal: every planned operation and what became of it, committed as it happens.

One row per (run, op): `planned -> sent -> succeeded | failed | ambiguous`. The executor
commits `sent` before a request leaves and the result right after, so a run killed at any
point can be resumed: `succeeded` ops are never sent again, and a `sent` or `ambiguous` create
is looked up in the target before it is re-created.

SQLite under LEADPIPE_HOME by default (WAL mode: a kill cannot corrupt it), or PostgreSQL
(`postgresql+psycopg://…`) for several workers, in as many processes, sharing one journal:

- creating the tables and planning a run are safe to race (an advisory lock around the schema,
  `ON CONFLICT DO NOTHING` for runs and ops), so every worker may open and plan the same run;
- each group commit locks its ops in `op_id` order before it updates them, so two writers
  whose ops overlap wait for each other instead of deadlocking;
- READ COMMITTED is enough: every statement touches rows by primary key and commits its own
  transaction, and a reader only needs what was committed;
- a small pool per process (the group commit needs one connection, reads one more) with
  pre-ping, so fifty workers stay far below `max_connections` and survive a server restart.

The URL may carry a password: it is shown only as `render_as_string(hide_password=True)`, and
database errors become `JournalUnavailable` with one line naming the host. Parsing the URL
registers the password with `_redact` (masked in every message and log record from then on),
and a password with an unescaped `@` is refused: the parser would take its tail for the host.
The schema is versioned (`journal_meta.version`); `_migrate` brings an older journal up to date.
Version 3 keeps, per update, what it sent and what the lead held before (`sent`, `previous`:
JSON objects of canonical fields), so `leadpipe revert` can put a run's changes back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from connectors._redact import redact, register
from connectors._results import OpResult
from connectors.exceptions import JournalUnavailable

__all__ = [
    "OP_STATES",
    "GroupCommit",
    "Journal",
    "OpResult",
    "check_journal_url",
    "open_journal",
    "redacted",
    "sqlite_url",
]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 3
OP_STATES = ("planned", "sent", "succeeded", "failed", "ambiguous")
# Connections per process on a server database: the group commit holds one, reads take another.
POOL_SIZE, POOL_OVERFLOW = 2, 4
CONNECT_TIMEOUT_S = 10
# pg_advisory_xact_lock key: "leadpipe journal schema", so concurrent first opens queue up.
_SCHEMA_LOCK = 0x1EAD_9192

_meta = sa.MetaData()
journal_meta = sa.Table("journal_meta", _meta, sa.Column("version", sa.Integer, nullable=False))
runs = sa.Table(
    "runs",
    _meta,
    # run ids are up to 128 characters (flows.options); SQLite never enforced the old 64
    sa.Column("run_id", sa.String(128), primary_key=True),
    sa.Column("profile", sa.String(200), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    # The target's address (`connectors.lease_key`): a later run into the same target looks
    # up the creates this run left unfinished or made (version 2; null for older runs).
    sa.Column("target", sa.String(400)),
)
sa.Index("runs_by_target", runs.c.target)
ops = sa.Table(
    "ops",
    _meta,
    sa.Column("run_id", sa.String(128), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("op_id", sa.String(32), primary_key=True),
    sa.Column("source_row", sa.Integer, nullable=False),
    sa.Column("op", sa.String(8), nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
    # what vendors send back has no documented length: Text (SQLite never enforced a length)
    sa.Column("target_id", sa.Text),
    sa.Column("http_status", sa.Integer),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("request_id", sa.Text),
    sa.Column("error_code", sa.Text),
    sa.Column("error_message", sa.Text),
    sa.Column("updated_at", sa.String(32), nullable=False),
    # What the op sends and what the lead held before (version 3; null for older runs and for
    # creates' `previous`): JSON objects {canonical field: value}, read by `leadpipe revert`.
    sa.Column("sent", sa.Text),
    sa.Column("previous", sa.Text),
)
sa.Index("ops_by_state", ops.c.run_id, ops.c.state)
sa.Index("ops_by_op", ops.c.op_id)  # every run looks up its creates in earlier runs
# One writer per target at a time (connectors._lease): the run holding each target's lease.
leases = sa.Table(
    "leases",
    _meta,
    sa.Column("target", sa.String(400), primary_key=True),
    sa.Column("run_id", sa.String(128), nullable=False),
    sa.Column("holder", sa.String(300), nullable=False),  # host:pid of the holding process
    sa.Column("taken_at", sa.String(32), nullable=False),
    sa.Column("renewed_at", sa.String(32), nullable=False),
)


# Op ids per `IN (...)` of a cross-run lookup (SQLite allows 32,766 parameters a statement).
_IN_CHUNK = 900


def _better(row: Mapping[str, Any], than: Mapping[str, Any]) -> bool:
    """Of two earlier records of one create: one that names its lead wins, then the newest."""
    if bool(row["target_id"]) != bool(than["target_id"]):
        return bool(row["target_id"])
    return str(row["updated_at"]) > str(than["updated_at"])


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a journal file (its folder is created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def open_journal(home: Path, url: str | None) -> Journal:
    """The run's journal: `url` (the `journal_url` option), else SQLite under `home`
    (LEADPIPE_HOME)."""
    return Journal(url or sqlite_url(home / "journal.db"))


def redacted(url: str | sa.URL) -> str:
    """`url` as it may be shown: the password as `***` (one that does not parse: a placeholder)."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return "<invalid journal URL>"


class Journal:
    """A journal database; create one per process (connections are not shared across them)."""

    def __init__(self, url: str) -> None:
        self._url = _parse(url)
        self._engine = _create_engine(self._url)
        with self._guard("open"):
            self._create_schema()

    @property
    def url(self) -> str:
        """The URL without its password."""
        return redacted(self._url)

    @property
    def dialect(self) -> str:
        return str(self._engine.dialect.name)

    def __repr__(self) -> str:
        return f"Journal({self.url!r})"

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """Database errors as `JournalUnavailable`: one line, the host, never the password."""
        try:
            yield
        except sa.exc.DBAPIError as exc:  # unreachable, refused, no privilege, deadlock, …
            raise JournalUnavailable(
                f"cannot {doing} the journal {_where(self._url)}: {_first_line(exc, self._url)}"
            ) from None

    def _create_schema(self) -> None:
        """Tables and version; on a server, under a lock so concurrent first opens queue up.
        SQLite has no such lock: two processes opening a new journal at once (overlapping
        imports) may both try to create a table; the loser tries again and finds it made."""
        for attempt in range(3):
            try:
                with self._engine.begin() as db:
                    if self.dialect == "postgresql":
                        db.execute(sa.select(sa.func.pg_advisory_xact_lock(_SCHEMA_LOCK)))
                    _meta.create_all(db)
                    self._migrate(db)
                return
            except sa.exc.OperationalError as exc:
                raced = "already exists" in str(exc) or "duplicate column" in str(exc)
                if self.dialect != "sqlite" or not raced or attempt == 2:
                    raise

    def _migrate(self, db: sa.Connection) -> None:
        found = db.execute(sa.select(journal_meta.c.version)).scalar()
        if found is None:
            db.execute(journal_meta.insert().values(version=SCHEMA_VERSION))
        elif found > SCHEMA_VERSION:
            raise RuntimeError(
                f"journal schema {found} is newer than this leadpipe ({SCHEMA_VERSION})"
            )
        elif found < SCHEMA_VERSION:
            if found < 2:
                # 1 -> 2: runs know their target, ops are found by op id across runs.
                if "target" not in _columns(db, "runs"):
                    db.execute(sa.text("ALTER TABLE runs ADD COLUMN target VARCHAR(400)"))
                for index in runs.indexes | ops.indexes:
                    index.create(db, checkfirst=True)
            # 2 -> 3: ops keep what they sent and what the lead held before (revert).
            for column in ("sent", "previous"):
                if column not in _columns(db, "ops"):
                    db.execute(sa.text(f"ALTER TABLE ops ADD COLUMN {column} TEXT"))
            db.execute(journal_meta.update().values(version=SCHEMA_VERSION))

    def start_run(
        self, run_id: str, *, profile: str, source: str, mode: str, target: str | None = None
    ) -> bool:
        """Record a run; False when it exists already (a resume, or another worker of it).
        `target` is the target's address (`connectors.lease_key`)."""
        row = {"run_id": run_id, "profile": profile, "source": source, "mode": mode}
        row |= {"target": target} if target else {}
        with self._guard("write"), self._engine.begin() as db:
            added = db.execute(
                self._insert_new(runs).values(**row, created_at=_now()).returning(runs.c.run_id)
            ).first()
        return added is not None

    def run(self, run_id: str) -> dict[str, Any] | None:
        """A run's record (profile, source, mode, created_at, target), or None if unknown."""
        with self._guard("read"), self._engine.connect() as db:
            row = db.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings().first()
        return dict(row) if row is not None else None

    def has_run(self, run_id: str) -> bool:
        """Whether a run of this id reached its push (`start_run`) in this journal."""
        with self._guard("read"), self._engine.connect() as db:
            found = db.execute(sa.select(runs.c.run_id).where(runs.c.run_id == run_id)).first()
        return found is not None

    def take_lease(
        self, target: str, run_id: str, holder: str, *, stale: Any
    ) -> dict[str, Any] | None:
        """Take `target`'s lease for `run_id` (or renew it, when the run holds it already):
        None when taken, else the holding run's row. `stale(row)` says whether a holder's lease
        may be taken over (it stopped renewing, or its process is gone). Racing takers are
        decided by the primary key (insert) or by compare-and-swap on the renewal stamp."""
        now = _now()
        with self._guard("write"), self._engine.begin() as db:
            row = db.execute(sa.select(leases).where(leases.c.target == target)).mappings().first()
            if row is None:
                values = dict(
                    target=target, run_id=run_id, holder=holder, taken_at=now, renewed_at=now
                )
                added = db.execute(
                    self._insert_new(leases).values(**values).returning(leases.c.target)
                ).first()
                return None if added is not None else {"run_id": "?", "holder": "?"}
            if row["run_id"] != run_id and not stale(dict(row)):
                return dict(row)
            swapped = db.execute(
                leases.update()
                .where(
                    leases.c.target == target,
                    leases.c.run_id == row["run_id"],
                    leases.c.renewed_at == row["renewed_at"],
                )
                .values(run_id=run_id, holder=holder, renewed_at=now)
            )
            return None if swapped.rowcount == 1 else dict(row)

    def renew_lease(self, target: str, run_id: str) -> bool:
        """Keep holding; False when the lease is no longer this run's (taken over)."""
        with self._guard("write"), self._engine.begin() as db:
            done = db.execute(
                leases.update()
                .where(leases.c.target == target, leases.c.run_id == run_id)
                .values(renewed_at=_now())
            )
        return bool(done.rowcount)

    def release_lease(self, target: str, run_id: str) -> None:
        with self._guard("write"), self._engine.begin() as db:
            db.execute(leases.delete().where(leases.c.target == target, leases.c.run_id == run_id))

    def _insert_new(self, table: sa.Table) -> Any:
        """`INSERT … ON CONFLICT DO NOTHING`: workers racing to add the same rows add them once."""
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        return dialect.insert(table).on_conflict_do_nothing()

    def plan(self, run_id: str, planned: Iterable[Mapping[str, Any]]) -> int:
        """Add `planned` ops ({op_id, source_row, op}, and optionally `sent` and `previous`:
        mappings of canonical fields, or their JSON) not yet journaled; returns how many."""
        with self._guard("write"), self._engine.begin() as db:
            known = {r[0] for r in db.execute(sa.select(ops.c.op_id).where(ops.c.run_id == run_id))}
            fresh = [
                {
                    "run_id": run_id,
                    "op_id": p["op_id"],
                    "source_row": int(p["source_row"]),
                    "op": p["op"],
                    "state": "planned",
                    "attempts": 0,
                    "updated_at": _now(),
                    "sent": _as_json(p.get("sent")),
                    "previous": _as_json(p.get("previous")),
                }
                for p in planned
                if p["op_id"] not in known
            ]
            if fresh:
                # another worker may have planned some of them since `known` was read
                db.execute(self._insert_new(ops), fresh)
        return len(fresh)

    def mark_sent(self, run_id: str, op_id: str) -> None:
        """Committed before the request leaves: a crash after this point leaves it `sent`."""
        self._update(run_id, op_id, state="sent")

    def record(self, run_id: str, op_id: str, result: OpResult) -> None:
        """Committed right after the request: succeeded, failed or ambiguous."""
        if result.state not in OP_STATES:
            raise ValueError(f"unknown op state {result.state!r}")
        self._update(run_id, op_id, **{k: v for k, v in result.__dict__.items()})

    def _update(self, run_id: str, op_id: str, **values: Any) -> None:
        self.apply(run_id, [(op_id, values)])

    def apply(
        self,
        run_id: str,
        updates: Sequence[tuple[str, Mapping[str, Any]]],
        held: sa.Connection | None = None,
    ) -> None:
        """Several op updates in one transaction (one commit): what `GroupCommit` flushes.

        Updates of the same shape go out as one prepared statement (executemany). `held`
        (SQLite only, `hold`): a connection kept for the push, driven through the driver itself
        (0.12 ms a commit instead of 0.3 ms with a pool checkout and SQLAlchemy's transaction).
        """
        stamp = _now()
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for op_id, values in updates:
            shapes.setdefault(tuple(sorted(values)), []).append(
                {**values, "b_run_id": run_id, "b_op_id": op_id, "updated_at": stamp}
            )
        if held is not None:
            self._apply_sqlite(held, shapes)
            return
        with self._guard("write"), self._engine.begin() as db:
            if self.dialect == "postgresql":
                self._lock_in_order(db, run_id, {op_id for op_id, _ in updates})
            for columns, rows in shapes.items():
                if self.dialect == "sqlite":
                    # The driver's own executemany: SQLAlchemy's per-row parameter handling
                    # costs ~40 % of a small batch, on a thread the push's event loop shares
                    # the GIL with (two commits per request).
                    db.exec_driver_sql(_sqlite_update(columns), rows)
                else:
                    db.execute(_update_statement(columns), rows)

    def hold(self) -> sa.Connection | None:
        """A connection for one thread's many small commits (`apply(held=)`): SQLite only,
        None elsewhere. Close it when done."""
        if self.dialect != "sqlite":
            return None
        with self._guard("open"):
            return self._engine.connect()

    def _apply_sqlite(
        self, held: sa.Connection, shapes: Mapping[tuple[str, ...], list[dict[str, Any]]]
    ) -> None:
        import sqlite3

        raw = held.connection.dbapi_connection
        assert raw is not None
        try:
            cursor = raw.cursor()
            cursor.execute("BEGIN")
            try:
                for columns, rows in shapes.items():
                    cursor.executemany(_sqlite_update(columns), rows)
                raw.commit()
            except BaseException:
                raw.rollback()
                raise
            finally:
                cursor.close()
        except sqlite3.Error as exc:
            line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise JournalUnavailable(
                f"cannot write the journal {_where(self._url)}: {redact(line)}"
            ) from None

    @staticmethod
    def _lock_in_order(db: sa.Connection, run_id: str, op_ids: set[str]) -> None:
        """Row locks taken in one order by every writer: overlapping commits never deadlock."""
        db.execute(
            sa.select(ops.c.op_id)
            .where(ops.c.run_id == run_id, ops.c.op_id.in_(sorted(op_ids)))
            .order_by(ops.c.op_id)
            .with_for_update()
        )

    def earlier_creates(
        self, target: str, run_id: str, op_ids: Iterable[str]
    ) -> dict[str, dict[str, Any]]:
        """What other runs into `target` did with the creates `op_ids` (op ids are a hash of
        the row and its payload, not of the run): by op id, the record that may have made a
        lead — one holding the lead's id first, else the newest `sent`/`ambiguous`. A plain
        re-run after a killed import learns here what that import created or left unknown."""
        wanted = list(dict.fromkeys(op_ids))
        found: dict[str, dict[str, Any]] = {}
        if not wanted:
            return found
        columns = (ops.c.op_id, ops.c.state, ops.c.target_id, ops.c.updated_at, ops.c.run_id)
        maybe = sa.or_(ops.c.state.in_(("sent", "ambiguous")), ops.c.target_id.is_not(None))
        with self._guard("read"), self._engine.connect() as db:
            others = (
                sa.select(runs.c.run_id)
                .where(runs.c.target == target, runs.c.run_id != run_id)
                .scalar_subquery()
            )
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                rows = db.execute(
                    sa.select(*columns).where(
                        ops.c.op_id.in_(chunk),
                        ops.c.op == "create",
                        ops.c.run_id.in_(others),
                        maybe,
                    )
                ).mappings()
                for row in rows:
                    kept = found.get(row["op_id"])
                    if kept is None or _better(dict(row), kept):
                        found[row["op_id"]] = dict(row)
        return found

    def ops(self, run_id: str) -> pl.DataFrame:
        """Every op of a run as a frame (state, target id, HTTP facts)."""
        columns = [c for c in ops.c if c.name != "run_id"]
        with self._guard("read"), self._engine.connect() as db:
            rows = db.execute(
                sa.select(*columns).where(ops.c.run_id == run_id).order_by(ops.c.source_row)
            ).all()
        schema = {
            c.name: pl.Int64 if isinstance(c.type, sa.Integer) else pl.String for c in columns
        }
        return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


class GroupCommit:
    """Journal updates of concurrent requests, committed together; each caller waits for its own.

    A request's `sent` is still committed before it leaves: `await sent(...)` returns only once
    the transaction holding it has committed. A result (`record`) is committed in the next
    transaction too, but by default its caller does not wait for it: a worker goes straight on
    to its next op, whose `sent` joins the same transaction. So one commit carries a request's
    result and the next request's `sent` (and those of every other request ready at that
    moment) instead of two commits per request. A crash before that commit leaves the op
    `sent`, which a resume looks up before it sends again: never lost, never sent blindly.
    `record(..., wait=True)` waits, for a result something is about to act on (a new lead's id
    before its follow-up update). `drain()` waits for everything queued (the end of a push).

    Updates of one op in one batch are merged in the order they came (a later value wins), so
    the row ends as if they had been committed one by one. A failed commit fails every waiter;
    one nobody waited for fails the next `sent` and `drain` instead.
    """

    def __init__(self, journal: Journal, run_id: str) -> None:
        self.journal = journal
        self.run_id = run_id
        self._pending: list[tuple[str, dict[str, Any], asyncio.Future[None] | None]] = []
        self._flushing: asyncio.Task[None] | None = None
        self._error: BaseException | None = None  # a failed commit nobody waited for
        self.commits = 0
        self.updates = 0  # op updates those commits carried
        self.seconds = 0.0  # time inside the commits (the transaction, not the queue)
        # SQLite commits on the event loop itself: a WAL commit without fsync takes ~0.3 ms,
        # less than handing it to a thread and back (which costs the loop the GIL for several
        # ms on a loaded machine: 3-4 ms a commit measured so, 0.3 ms inline). Responses that
        # arrive meanwhile wait in the sockets and join the next commit. A server's commit is a
        # network round trip: it stays in a thread, and requests keep flowing meanwhile.
        self._inline = journal.dialect == "sqlite"
        self._held: sa.Connection | None = None  # SQLite: one connection for every commit

    async def sent(self, op_id: str) -> None:
        self._raise_unwaited()
        await self._queue(op_id, {"state": "sent"}, wait=True)

    async def record(self, op_id: str, result: OpResult, *, wait: bool = False) -> None:
        if result.state not in OP_STATES:
            raise ValueError(f"unknown op state {result.state!r}")
        await self._queue(op_id, dict(result.__dict__), wait=wait)

    async def drain(self) -> None:
        """Return once every update queued so far has committed (or raise why it did not)."""
        while self._flushing is not None and not self._flushing.done():
            await asyncio.shield(self._flushing)
        self._raise_unwaited()

    def _raise_unwaited(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    async def _queue(self, op_id: str, values: dict[str, Any], *, wait: bool) -> None:
        done = asyncio.get_running_loop().create_future() if wait else None
        self._pending.append((op_id, values, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        if done is not None:
            await done

    async def _flush(self) -> None:
        while self._pending:
            await asyncio.sleep(0)  # let the requests running now add their updates first
            batch, self._pending = self._pending, []
            merged: dict[str, dict[str, Any]] = {}
            for op_id, values, _ in batch:
                merged.setdefault(op_id, {}).update(values)
            try:
                if self._inline:
                    if self._held is None:
                        self._held = self.journal.hold()
                    self._apply(list(merged.items()))
                else:
                    # In a worker thread: requests keep flowing while the server commits.
                    await asyncio.to_thread(self._apply, list(merged.items()))
            except Exception as exc:  # noqa: BLE001 - every waiter learns of the failure
                waiters = [done for _, _, done in batch if done is not None]
                for done in waiters:
                    if not done.done():  # its caller may have been cancelled meanwhile
                        done.set_exception(exc)
                if len(waiters) < len(batch):
                    self._error = exc
                continue
            self.commits += 1
            self.updates += len(merged)
            for _, _, waiter in batch:
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)

    def close(self) -> None:
        """Give back the connection the commits held (after `drain`)."""
        if self._held is not None:
            held, self._held = self._held, None
            held.close()

    def _apply(self, updates: list[tuple[str, dict[str, Any]]]) -> None:
        started = time.perf_counter()
        try:
            self.journal.apply(self.run_id, updates, self._held)
        finally:
            self.seconds += time.perf_counter() - started


@lru_cache(maxsize=16)
def _sqlite_update(columns: tuple[str, ...]) -> str:
    """`_update_statement` compiled once for SQLite, with named parameters (the rows' keys)."""
    named = sqlite.dialect(paramstyle="named")
    return str(_update_statement(columns).compile(dialect=named))


@lru_cache(maxsize=16)
def _update_statement(columns: tuple[str, ...]) -> sa.Update:
    """`UPDATE ops SET <columns>, updated_at WHERE run_id AND op_id`, with bound parameters."""
    return (
        ops.update()
        .where(ops.c.run_id == sa.bindparam("b_run_id"), ops.c.op_id == sa.bindparam("b_op_id"))
        .values({c: sa.bindparam(c) for c in (*columns, "updated_at")})
    )


def check_journal_url(url: str) -> None:
    """ValueError (a message without the URL) unless `url` is a SQLite or PostgreSQL URL."""
    _parse(url)


# `scheme://user:password@rest`: the password runs to the first `@` (as SQLAlchemy reads it),
# so an `@` left in `rest`'s host part (before `/`, `?` or `#`) was the password's.
_AT_IN_PASSWORD = re.compile(r"^[\w+.-]+://[^:/]*:[^@]*@[^/?#]*@")


def _parse(url: str) -> sa.URL:
    if _AT_IN_PASSWORD.match(url):
        # Never parsed: the "host" would be the password's tail, shown in every message.
        raise ValueError(
            "journal_url: the password contains an unescaped '@', which ends it early; "
            "percent-encode each '@' in the password as %40 "
            "(e.g. postgresql+psycopg://user:pa%40ss@host/db)"
        )
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        # the parser's own message may quote the URL, password and all
        raise ValueError(
            "journal_url is not a database URL (e.g. postgresql+psycopg://user@host/db)"
        ) from None
    for password in (parsed.password, parsed.query.get("password")):
        if isinstance(password, str) and password:
            register(password)  # a driver's message that quotes it is masked
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(
            f"journal_url must be SQLite or PostgreSQL, not {parsed.get_backend_name()!r}"
        )
    return parsed


def _create_engine(url: sa.URL) -> sa.Engine:
    """SQLite with its pragmas, or PostgreSQL with a small, pre-pinged pool."""
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "leadpipe"}
    return sa.create_engine(
        url,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_pre_ping=True,
        isolation_level="READ COMMITTED",
        connect_args=connect_args,
    )


def _where(url: sa.URL) -> str:
    """`host:port/database` for messages."""
    host = f"{url.host or 'localhost'}{f':{url.port}' if url.port else ''}"
    return f"{host}/{url.database or ''}"


def _first_line(exc: sa.exc.DBAPIError, url: sa.URL) -> str:
    """The driver's own first line (not SQLAlchemy's SQL and parameters), password removed."""
    line = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
    # replaced here even when too short for the registry; `redact` masks the other secrets
    return redact(line.replace(url.password, "***") if url.password else line)


def _columns(db: sa.Connection, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(db).get_columns(table)}


def _as_json(value: Any) -> str | None:
    """A mapping of canonical fields as JSON (text passes through; values JSON cannot hold,
    e.g. dates, as text)."""
    if value is None or isinstance(value, str):
        return value
    return _ENCODER.encode(value if isinstance(value, dict) else dict(value))


# One encoder for every op (json.dumps with options builds one per call).
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False, sort_keys=True)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
