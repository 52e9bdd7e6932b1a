"""The PostgreSQL test server (scripts/ensure-postgres): its URL, and a fresh schema per test.

Each test gets a schema of its own on the one test database, named in the URL's libpq
`options` (`-csearch_path=…`), so everything that opens the URL, other processes included,
works in that schema.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

URL_FILE = ".leadpipe-test-postgres-url"


def server_url(repo: Path) -> str | None:
    """LEADPIPE_TEST_POSTGRES_URL, else what scripts/ensure-postgres wrote, else None."""
    url = os.environ.get("LEADPIPE_TEST_POSTGRES_URL")
    if url:
        return url
    written = repo / URL_FILE
    if not written.exists():
        return None
    return written.read_text().strip() or None


def answers(url: str) -> bool:
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as db:
            db.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception:  # noqa: BLE001 - no driver, no server, wrong password: all mean skip
        return False
    return True


@contextmanager
def fresh_schema(server: str) -> Iterator[str]:
    """A URL whose connections work in a new, empty schema (dropped afterwards)."""
    import sqlalchemy as sa

    schema = f"t_{secrets.token_hex(6)}"
    engine = sa.create_engine(server)
    with engine.begin() as db:
        db.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = sa.make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as db:
            db.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
