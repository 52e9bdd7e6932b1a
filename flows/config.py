"""Options of a run, read once at the edge (CLI flags over leadpipe.toml over defaults).

`leadpipe.toml` may set any option by its flag name with `_` for `-`, at the top level::

    default_region = "US"
    preset = "hubspot"
    duplicates = "first"
    engine = "local"
    runner = "dask"                       # CPU-heavy stages and the push per partition on Dask
    dask_address = "tcp://10.0.0.5:8786"  # a running scheduler (default: a LocalCluster)
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

import phonenumbers
from pydantic import SecretStr

from flows._engine import Engine
from flows.exceptions import ConfigError
from transforms.dedupe import DuplicatePolicy
from transforms.diff import Blanks
from transforms.partitions import DEFAULT_PARTITION_ROWS
from transforms.plan import Mode

__all__ = [
    "DEFAULT_ENGINE",
    "DEFAULT_HOME",
    "CheckOptions",
    "DaskSettings",
    "SyncOptions",
    "check_segment",
    "dask_choice",
    "engine_choice",
    "leadpipe_home",
    "load_config",
    "new_run_id",
    "partition_rows",
    "pick",
    "sync_options",
]

DEFAULT_HOME = Path(".leadpipe")
DEFAULT_ENGINE: Engine = "prefect"
DEFAULT_DUPLICATES: DuplicatePolicy = "last"
_ENGINES = ("prefect", "local")
RunnerName = Literal["local", "dask"]
_RUNNERS = ("local", "dask")
# A Dask scheduler address: `tcp://host:port` (or tls://, ucx://; the scheme may be omitted).
_DASK_ADDRESS = re.compile(r"(?:[a-z]+://)?[A-Za-z0-9._\[\]:-]+:[0-9]{1,5}")
_POLICIES = ("first", "last", "reject")
# Run ids and target names become directory names (runs/<run_id>, state/<target>): one plain
# path segment, so a `--resume ../../x` or a `[targets."../x"]` cannot write elsewhere.
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def partition_rows() -> int:
    """`LEADPIPE_PARTITION_ROWS` (rows per partition of a large file), else the default."""
    given = os.environ.get("LEADPIPE_PARTITION_ROWS", "").strip().replace("_", "")
    if not given:
        return DEFAULT_PARTITION_ROWS
    if not given.isdigit() or int(given) < 1:
        raise ConfigError(f"LEADPIPE_PARTITION_ROWS must be a whole number of rows, not {given!r}")
    return int(given)


@dataclass(frozen=True)
class DaskSettings:
    """Where a `--runner dask` run sends its per-partition work (see flows/_dask.py)."""

    address: str | None = None  # a running scheduler; None: a LocalCluster for the run
    workers: int = 2  # processes of that LocalCluster
    partitions: int = 4  # row ranges of the CPU-heavy stages, and push partitions


@dataclass(frozen=True)
class CheckOptions:
    """Everything `leadpipe check` needs; plain values, so Prefect shows them as parameters."""

    source: Path
    out_dir: Path
    run_id: str
    home: Path = DEFAULT_HOME
    preset: str | None = None
    mapping: Path | None = None
    default_region: str | None = None
    duplicates: DuplicatePolicy = DEFAULT_DUPLICATES
    sheet: str | None = None
    dask: DaskSettings | None = None  # None: every stage runs in this process
    # Rows per partition (env LEADPIPE_PARTITION_ROWS): peak memory follows it, not the file.
    partition_rows: int = field(default_factory=lambda: partition_rows())

    def __post_init__(self) -> None:
        check_segment(self.run_id, "run id")
        if self.partition_rows < 1:
            raise ConfigError(f"partition rows must be 1 or more, not {self.partition_rows}")
        if (
            self.default_region is not None
            and self.default_region not in phonenumbers.SUPPORTED_REGIONS
        ):
            raise ConfigError(
                f"--default-region {self.default_region!r} is not a region code "
                "(use ISO alpha-2, e.g. US, GB, DE)"
            )
        if self.duplicates not in _POLICIES:
            raise ConfigError(
                f"--duplicates must be one of {', '.join(_POLICIES)}, not {self.duplicates!r}"
            )


@dataclass(frozen=True)
class SyncOptions(CheckOptions):
    """`leadpipe plan` / `import`: the check options plus the target and how to write to it."""

    target: str = ""
    targets: dict[str, Any] = field(default_factory=dict)  # [targets.*] tables of the config
    mode: Mode = "upsert"
    blanks: Blanks = "leave"
    dry_run: bool = True
    # may carry a password: SecretStr shows as ****, in reprs and in Prefect's flow parameters
    journal_url: SecretStr | None = None
    state_file: Path | None = None  # an export of the target, instead of reading the target

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.target:
            raise ConfigError(
                "--target is required (a [targets.NAME] profile, or sandbox:octanist etc.)"
            )
        if self.mode not in ("upsert", "update", "create"):
            raise ConfigError(f"--mode must be upsert, update or create, not {self.mode!r}")
        if self.blanks not in ("leave", "clear"):
            raise ConfigError(f"--blanks must be leave or clear, not {self.blanks!r}")


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: `20261122T071500Z-3f9a1c`."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def check_segment(value: str, what: str) -> str:
    """`value` if it is safe as one directory name (see `_SEGMENT`), else a ConfigError."""
    if not _SEGMENT.fullmatch(value) or ".." in value:
        raise ConfigError(
            f"{what} {value!r} is not allowed: use letters, digits, '.', '_', ':' and '-'"
        )
    return value


def leadpipe_home() -> Path:
    """LEADPIPE_HOME, default ./.leadpipe (journal, state, caches)."""
    return Path(os.environ.get("LEADPIPE_HOME") or DEFAULT_HOME)


def load_config(path: Path | None) -> dict[str, Any]:
    """Top-level options of a leadpipe.toml (empty when no file is given)."""
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def pick(flag: Any, config: dict[str, Any], key: str, default: Any = None) -> Any:
    """A flag wins over the config file, which wins over the default."""
    return flag if flag is not None else config.get(key, default)


def engine_choice(flag: str | None, config: dict[str, Any]) -> Engine:
    """--engine, else the config, else LEADPIPE_ENGINE, else prefect."""
    value = pick(flag, config, "engine") or os.environ.get("LEADPIPE_ENGINE") or DEFAULT_ENGINE
    if value not in _ENGINES:
        raise ConfigError(f"--engine must be prefect or local, not {value!r}")
    return cast(Engine, value)


def dask_choice(
    runner: str | None, address: str | None, config: dict[str, Any], engine: Engine
) -> DaskSettings | None:
    """--runner (config `runner`, env LEADPIPE_RUNNER, default local): None for local, else
    where the Dask work goes (--dask-address / `dask_address`, `dask_workers`,
    `dask_partitions`). Dask runs Prefect tasks, so it needs `--engine prefect`."""
    value = pick(runner, config, "runner") or os.environ.get("LEADPIPE_RUNNER") or "local"
    if value not in _RUNNERS:
        raise ConfigError(f"--runner must be local or dask, not {value!r}")
    if value == "local":
        return None
    if engine != "prefect":
        raise ConfigError("--runner dask runs Prefect tasks on Dask: it needs --engine prefect")
    where = pick(address, config, "dask_address")
    if where is not None and (not isinstance(where, str) or not _DASK_ADDRESS.fullmatch(where)):
        raise ConfigError(
            f"--dask-address {where!r} is not a scheduler address (e.g. tcp://10.0.0.5:8786)"
        )
    workers, partitions = config.get("dask_workers", 2), config.get("dask_partitions")
    for key, number in (("dask_workers", workers), ("dask_partitions", partitions)):
        if number is not None and (type(number) is not int or number < 1):
            raise ConfigError(f"{key} must be a whole number of at least 1, not {number!r}")
    return DaskSettings(where, workers, partitions or 2 * workers)


def sync_options(
    conf: dict[str, Any], *, source: Path, run_id: str, dry_run: bool, **flags: Any
) -> SyncOptions:
    """Options of a plan/import: `flags` (None where not given) over `conf` over defaults.

    `flags` are named like the CLI options: target, out, preset, mapping, default_region,
    duplicates, mode, blanks, state_file.
    """
    mapping = pick(flags.get("mapping"), conf, "mapping")
    state_file = pick(flags.get("state_file"), conf, "state_file")
    region = pick(flags.get("default_region"), conf, "default_region")
    return SyncOptions(
        source=source,
        out_dir=Path(pick(flags.get("out"), conf, "out", f"runs/{run_id}")),
        run_id=run_id,
        home=leadpipe_home(),
        preset=pick(flags.get("preset"), conf, "preset"),
        mapping=Path(mapping) if mapping else None,
        default_region=region.strip().upper() if region else None,
        duplicates=pick(flags.get("duplicates"), conf, "duplicates", DEFAULT_DUPLICATES),
        target=pick(flags.get("target"), conf, "target", ""),
        targets=dict(conf.get("targets", {})),
        mode=pick(flags.get("mode"), conf, "mode", "upsert"),
        blanks=pick(flags.get("blanks"), conf, "blanks", "leave"),
        dry_run=dry_run,
        journal_url=_journal_url(conf.get("journal_url")),
        state_file=Path(state_file) if state_file else None,
    )


def _journal_url(value: Any) -> SecretStr | None:
    """`journal_url` from the config, checked; messages never quote it (it may hold a password)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError("journal_url must be a string (a SQLite or PostgreSQL URL)")
    from connectors._journal import check_journal_url  # SQLAlchemy only for runs that set it

    try:
        check_journal_url(value)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return SecretStr(value)
