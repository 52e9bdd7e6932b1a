"""`--runner`, `--dask-address` and the config keys: how they resolve, and one-line errors.

No cluster here (tests/flows/test_dask_runner.py runs one): a scheduler that does not answer
is refused before any flow starts.
"""

from __future__ import annotations

import zlib

import pytest
from typer.testing import CliRunner

from flows._dask import DaskMapper, partition_of
from flows._partitions import row_ranges
from flows.cli import app
from flows.exceptions import ConfigError
from flows.options import DaskSettings, dask_choice
from tests.conftest import SAMPLES
from tests.sandbox_process import free_port

runner = CliRunner()


def test_local_is_the_default_and_dask_takes_flag_config_then_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert dask_choice(None, None, {}, "prefect") is None
    monkeypatch.setenv("LEADPIPE_RUNNER", "dask")
    assert dask_choice(None, None, {}, "prefect") == DaskSettings(None, 2, 4)
    assert dask_choice(None, None, {"runner": "local"}, "prefect") is None
    assert dask_choice("local", None, {"runner": "dask"}, "prefect") is None
    conf = {"runner": "dask", "dask_address": "tcp://10.0.0.5:8786", "dask_workers": 3}
    assert dask_choice(None, None, conf, "prefect") == DaskSettings("tcp://10.0.0.5:8786", 3, 6)
    assert dask_choice(None, "tls://h:1", {"dask_partitions": 8, **conf}, "prefect") == (
        DaskSettings("tls://h:1", 3, 8)
    )


@pytest.mark.parametrize(
    ("runner_", "address", "conf", "message"),
    [
        ("ray", None, {}, "--runner must be local or dask, not 'ray'"),
        ("dask", "nope", {}, "--dask-address 'nope' is not a scheduler address"),
        ("dask", None, {"dask_address": 8786}, "--dask-address 8786 is not"),
        ("dask", None, {"dask_workers": 0}, "dask_workers must be a whole number"),
        ("dask", None, {"dask_partitions": "4"}, "dask_partitions must be a whole number"),
    ],
)
def test_bad_runner_settings_are_config_errors(
    runner_: str, address: str | None, conf: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        dask_choice(runner_, address, conf, "prefect")


def test_dask_needs_the_prefect_engine() -> None:
    result = runner.invoke(
        app,
        ["check", str(SAMPLES / "hubspot_contacts.csv"), "--runner", "dask", "--engine", "local"],
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "leadpipe: error: --runner dask runs Prefect tasks on Dask: it needs --engine prefect"
    ]


def test_a_scheduler_that_does_not_answer_stops_the_run_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("flows._dask._CONNECT_TIMEOUT_S", 1)
    address = f"tcp://127.0.0.1:{free_port()}"
    result = runner.invoke(
        app,
        ["check", str(SAMPLES / "hubspot_contacts.csv"), "--runner", "dask"]
        + ["--dask-address", address],
    )
    assert result.exit_code == 3
    assert result.output.strip().splitlines() == [
        f"leadpipe: error: cannot reach the Dask scheduler at {address} (OSError)"
    ]


def test_an_import_on_dask_needs_a_sandbox_server_for_a_sandbox_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LEADPIPE_SANDBOX_URL", raising=False)
    result = runner.invoke(
        app,
        ["import", str(SAMPLES / "hubspot_contacts.csv"), "--target", "sandbox:omni"]
        + ["--runner", "dask"],
    )
    assert result.exit_code == 2
    assert "start `leadpipe sandbox` and set LEADPIPE_SANDBOX_URL" in result.output


def test_row_ranges_cover_every_row_once_in_order() -> None:
    def ranges(rows: int) -> list[tuple[int, int]]:
        size = DaskMapper(DaskSettings(partitions=4)).rows_per_part(250_000, rows)
        return row_ranges(rows, size)

    assert ranges(10) == [(0, 3), (3, 3), (6, 3), (9, 1)]
    assert ranges(3) == [(0, 1), (1, 1), (2, 1)]
    assert ranges(0) == [(0, 0)]  # an empty file is one empty partition, as everywhere


def test_an_op_lands_in_the_same_push_partition_in_every_process() -> None:
    assert partition_of("18399583993741994318", 4) == zlib.crc32(b"18399583993741994318") % 4
    assert {partition_of(str(i), 4) for i in range(100)} == {0, 1, 2, 3}
