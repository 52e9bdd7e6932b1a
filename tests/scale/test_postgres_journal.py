"""The journal on PostgreSQL: several worker processes sharing one run, and a journal URL's
password kept out of every message, log and file.

Needs the test server (scripts/ensure-postgres); skips without it. Each test has a schema of
its own (tests/postgres.py).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from fastapi.encoders import jsonable_encoder
from typer.testing import CliRunner

from connectors import Journal
from connectors.exceptions import JournalUnavailable
from flows.cli import app
from flows.options import sync_options
from tests.conftest import SAMPLES
from tests.sandbox_process import free_port

WORKERS, OPS, CONTESTED = 3, 1_200, 60
PASSWORD = "hunter2-s3cret"


def test_workers_share_one_journal_without_losing_or_deadlocking(
    postgres_url: str, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    command = [sys.executable, "-m", "tests.scale.journal_worker", postgres_url]
    workers = [
        subprocess.Popen(
            [*command, str(w), str(WORKERS), str(OPS), str(CONTESTED), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for w in range(WORKERS)
    ]
    go.touch()
    finished = [w.communicate(timeout=120) for w in workers]
    assert [w.returncode for w in workers] == [0] * WORKERS, [
        e.decode()[-2000:] for _, e in finished
    ]

    journal = Journal(postgres_url)
    frame = journal.ops("scale-run")
    assert frame.height == OPS  # every op planned once, though all three planned all of them
    assert Counter(frame["state"]) == {"succeeded": OPS}
    assert frame["target_id"].to_list() == [f"L{i}" for i in range(OPS)]
    contested = frame.head(CONTESTED)
    touched = contested["request_id"].fill_null(contested["error_code"])
    assert touched.str.starts_with("w").all()  # the other workers' writes landed too
    with sa.create_engine(postgres_url).connect() as db:
        assert db.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 1
        assert db.execute(sa.text("SELECT count(*) FROM journal_meta")).scalar() == 1
    commits = sum(json.loads(out)["commits"] for out, _ in finished)
    assert commits < 2 * OPS / 4  # group commit: far fewer transactions than updates
    journal.close()


def _with_password(url: str, password: str = PASSWORD) -> str:
    return sa.make_url(url).set(password=password).render_as_string(hide_password=False)


def test_an_unreachable_journal_is_one_line_naming_the_host_without_the_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+psycopg://leadpipe:{PASSWORD}@127.0.0.1:{port}/leadpipe"
    config = tmp_path / "leadpipe.toml"
    config.write_text(f'journal_url = "{url}"\n')
    caplog.set_level(logging.DEBUG)
    result = _import(tmp_path, config)
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1
    assert f"cannot open the journal 127.0.0.1:{port}/leadpipe" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    _nowhere(PASSWORD, result.output, result.stderr, caplog.text, tmp_path, skip=config)


def test_a_wrong_password_is_named_but_never_shown(
    postgres_server: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = _with_password(postgres_server)
    with pytest.raises(JournalUnavailable, match="password authentication failed") as caught:
        Journal(url)
    assert PASSWORD not in str(caught.value)
    config = tmp_path / "leadpipe.toml"
    config.write_text(f'journal_url = "{url}"\n')
    caplog.set_level(logging.DEBUG)
    result = _import(tmp_path, config)
    assert result.exit_code == 3, result.output
    assert result.stderr.count("\n") == 1
    _nowhere(PASSWORD, result.output, result.stderr, caplog.text, tmp_path, skip=config)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://leadpipe:{PASSWORD}@127.0.0.1:notaport/leadpipe",
        f"mysql://leadpipe:{PASSWORD}@127.0.0.1/leadpipe",
        f"{PASSWORD}",
    ],
    ids=["bad-port", "mysql", "not-a-url"],
)
def test_a_bad_journal_url_is_a_usage_error_without_the_password(url: str, tmp_path: Path) -> None:
    config = tmp_path / "leadpipe.toml"
    config.write_text(f'journal_url = "{url}"\n')
    result = _import(tmp_path, config)
    assert result.exit_code == 2
    assert "journal_url" in result.stderr
    assert PASSWORD not in result.output + result.stderr


def test_the_password_stays_out_of_reprs_and_prefect_parameters(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://leadpipe:{PASSWORD}@db.internal:5432/leadpipe"
    options = sync_options(
        {"journal_url": url},
        source=tmp_path / "f.csv",
        run_id="r1",
        dry_run=False,
        target="sandbox:octanist",
    )
    assert options.journal_url is not None and options.journal_url.get_secret_value() == url
    # what Prefect stores as the flow run's parameters (Flow.serialize_parameters)
    shown = json.dumps(jsonable_encoder(options), default=str) + repr(options) + str(options)
    assert PASSWORD not in shown


def test_the_password_may_come_from_pgpassword(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = sa.make_url(postgres_url)
    assert url.password
    monkeypatch.setenv("PGPASSWORD", url.password)
    journal = Journal(url._replace(password=None).render_as_string(hide_password=False))
    assert journal.start_run("r1", profile="p", source="f.csv", mode="upsert") is True
    journal.close()


def test_the_journal_shows_its_url_without_the_password(postgres_url: str) -> None:
    journal = Journal(postgres_url)
    password = sa.make_url(postgres_url).password
    assert password and password not in repr(journal) + journal.url
    assert "***" in journal.url
    journal.close()


def _import(tmp_path: Path, config: Path) -> Result:
    out = tmp_path / "run"
    args = ["import", str(SAMPLES / "hubspot_contacts.csv"), "--target", "sandbox:octanist"]
    args += ["--engine", "local", "--out", str(out), "--config", str(config), "--json"]
    return CliRunner().invoke(app, args)


def _nowhere(secret: str, *texts: object, skip: Path) -> None:
    """`secret` in none of `texts`; a Path among them means every file under it but `skip`."""
    for text in texts:
        if isinstance(text, Path):
            files = [p for p in text.rglob("*") if p.is_file() and p != skip]
            leaked = [p for p in files if secret.encode() in p.read_bytes()]
            assert leaked == []
        else:
            assert secret not in str(text)
