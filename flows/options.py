"""Options of a run, read once at the edge (CLI flags over leadpipe.toml over defaults).

`leadpipe.toml` may set any option by its flag name with `_` for `-`, at the top level::

    default_region = "US"
    preset = "hubspot"
    duplicates = "first"
    engine = "local"                      # auto (default), prefect or local
    runner = "dask"                       # CPU-heavy stages and the push per partition on Dask
    dask_address = "tcp://10.0.0.5:8786"  # a running scheduler (default: a LocalCluster)
    sheet = "Leads"                       # the XLSX sheet of every file a command reads
    memory = false                        # neither remember a --mapping nor apply one
    strict = true                         # any bad value rejects its row (all-or-nothing)
    null_tokens = ["null", "N/A", "-"]    # cells read as blank; [] reads every value as given
    approve = true                        # an import waits for a person's yes before it sends
    approve_timeout = 3600                # seconds to wait for that answer (then: not sent)
"""

from __future__ import annotations

import difflib
import os
import re
import secrets
import tempfile
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypedDict, cast

from pydantic import SecretStr

from flows._prefect_api import configured_api_url
from flows.exceptions import ConfigError
from schemas.choices import Blanks, DuplicatePolicy, Mode, OnTargetEdit

__all__ = [
    "ALERT_KEYS",
    "ALERT_SHARES",
    "DEFAULT_APPROVE_TIMEOUT_S",
    "DEFAULT_ENGINE",
    "DEFAULT_NULL_TOKENS",
    "DEFAULT_PARTITION_ROWS",
    "OPTION_KEYS",
    "Engine",
    "EngineSetting",
    "Flags",
    "Job",
    "MigrateOptions",
    "RevertOptions",
    "check_config_keys",
    "check_places",
    "folder_problem",
    "migrate_options",
    "options_for",
    "options_from",
    "DEFAULT_HOME",
    "CheckOptions",
    "DaskSettings",
    "SyncOptions",
    "check_segment",
    "dask_choice",
    "engine_choice",
    "engine_setting",
    "check_target",
    "leadpipe_home",
    "load_config",
    "memory_choice",
    "new_run_id",
    "null_token_keys",
    "null_tokens_choice",
    "partition_rows",
    "pick",
    "revert_options",
    "sync_options",
]

# In-process, or as a Prefect flow (one task per stage).
Engine = Literal["prefect", "local"]
# What the user may ask for: `auto` is Prefect when a Prefect API is configured, else local.
EngineSetting = Literal["auto", "prefect", "local"]
DEFAULT_HOME = Path(".leadpipe")
DEFAULT_ENGINE: EngineSetting = "auto"
DEFAULT_DUPLICATES: DuplicatePolicy = "last"
# How long an `--approve` import waits for a person's answer before it sends nothing.
DEFAULT_APPROVE_TIMEOUT_S = 3600.0
_ENGINES = ("auto", "prefect", "local")
RunnerName = Literal["local", "dask"]
_RUNNERS = ("local", "dask")
# A Dask scheduler address: `tcp://host:port` (or tls://, ucx://; the scheme may be omitted).
_DASK_ADDRESS = re.compile(r"(?:[a-z]+://)?[A-Za-z0-9._\[\]:-]+:[0-9]{1,5}")
_POLICIES = ("first", "last", "reject")
# Rows per partition (flows/_partitions.py): ~0.6-0.9 GB of a wide export in flight (measured
# on `make bench`'s export), whatever the file's size.
DEFAULT_PARTITION_ROWS = 250_000
# Cells that mean "no value" in real exports (spreadsheets, CRMs, JavaScript tools). Matching
# ignores case and surrounding spaces, so the options keep them trimmed, lower-cased, once.
DEFAULT_NULL_TOKENS: tuple[str, ...] = (
    "null",
    "NULL",
    "Null",
    "N/A",
    "n/a",
    # not "NA": it is Namibia's country code
    "#N/A",
    "-",
    "--",
    "none",
    "None",
    "NONE",
    "nil",
    "(blank)",
    "undefined",
)
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
    # Remember a --mapping for the file's headers, and apply a remembered one (flows/_memory.py)
    memory: bool = True
    # Cell values read as blank: trimmed, lower-cased, each once (see `null_token_keys`)
    null_tokens: tuple[str, ...] = DEFAULT_NULL_TOKENS
    # --strict: any bad value rejects its row; else only a row with no identity left is
    # rejected, and a bad optional value is left out with a warning (transforms/validate.py)
    strict: bool = False
    dask: DaskSettings | None = None  # None: every stage runs in this process
    # Rows per partition (env LEADPIPE_PARTITION_ROWS): peak memory follows it, not the file.
    partition_rows: int = field(default_factory=lambda: partition_rows())

    def __post_init__(self) -> None:
        check_segment(self.run_id, "run id")
        # frozen: the one place the value is replaced, by its matching form
        object.__setattr__(self, "null_tokens", null_token_keys(self.null_tokens))
        if self.partition_rows < 1:
            raise ConfigError(f"partition rows must be 1 or more, not {self.partition_rows}")
        if self.default_region is not None and not _is_region(self.default_region):
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
    resume: bool = False  # --resume RUN_ID: the run must exist (its id is `run_id`)
    max_failed_ratio: float = 1.0  # exit 1 when a larger share of rows failed
    # may carry a password: SecretStr shows as ****, in reprs and in Prefect's flow parameters
    journal_url: SecretStr | None = None
    state_file: Path | None = None  # an export of the target, instead of reading the target
    # three-way sync: `keep` leaves fields only the target changed; `overwrite`: the file wins
    on_target_edit: OnTargetEdit = "keep"
    allow_reopen: bool = False  # send changes that leave opted-out / not-interested / closed
    verify_target: bool = False  # read every matched lead, not only those a plan writes to
    refresh_target: bool = False  # read the whole target again (a listing, Omni's feed)
    wait: float = 0.0  # seconds to wait for another run's hold on the target (its lease)
    # alert thresholds (schemas/alerts.py; None: off): shares of failed / invalid rows, and of
    # requests answered 429; a breach exits 1 (flows/_alerts.py)
    alert_failed_share: float | None = None
    alert_invalid_share: float | None = None
    alert_throttled: float | None = None
    # --approve: the import plans, then waits (up to `approve_timeout` s) for a person's answer
    approve: bool = False
    approve_timeout: float = DEFAULT_APPROVE_TIMEOUT_S

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.approve, bool):
            raise ConfigError(f"approve must be true or false, not {self.approve!r}")
        waits = self.approve_timeout
        if isinstance(waits, bool) or not isinstance(waits, int | float) or waits <= 0:
            raise ConfigError(
                f"--approve-timeout must be a number of seconds above 0, not {waits!r}"
            )
        if self.on_target_edit not in ("keep", "overwrite"):
            raise ConfigError(
                f"--on-target-edit must be keep or overwrite, not {self.on_target_edit!r}"
            )
        if isinstance(self.wait, bool) or not isinstance(self.wait, int | float) or self.wait < 0:
            raise ConfigError(f"--wait must be a number of seconds (0 or more), not {self.wait!r}")
        for name in ("allow_reopen", "verify_target", "refresh_target"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, not {getattr(self, name)!r}")
        if not self.target:
            raise ConfigError(
                "--target is required (a [targets.NAME] profile, or sandbox:octanist etc.)"
            )
        if self.mode not in ("upsert", "update", "create"):
            raise ConfigError(f"--mode must be upsert, update or create, not {self.mode!r}")
        if self.blanks not in ("leave", "clear"):
            raise ConfigError(f"--blanks must be leave or clear, not {self.blanks!r}")
        ratio = self.max_failed_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 <= ratio <= 1:
            raise ConfigError(f"max_failed_ratio must be a number from 0 to 1, not {ratio!r}")
        for name in ALERT_SHARES:
            share = getattr(self, name)
            if share is not None and (
                isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1
            ):
                raise ConfigError(f"{name} must be a number from 0 to 1, not {share!r}")


@dataclass(frozen=True)
class MigrateOptions(SyncOptions):
    """Sync options plus where the leads come from (`source` is the export, or where
    `extract` writes the origin profile's leads) and whether to carry what does not fit."""

    origin: str | None = None  # a target profile to read from; None: `source` is an export
    carry_extras: bool = False


def _is_region(code: str) -> bool:
    """Whether phonenumbers knows `code` as a region (imported here: not for `--help`)."""
    import phonenumbers

    return code in phonenumbers.SUPPORTED_REGIONS


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


def folder_problem(folder: Path) -> str | None:
    """Why files cannot be written in `folder` (made if missing), as the end of a sentence
    naming it ("is a file, not a folder"), or None when they can."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return "is a file, not a folder"
    except NotADirectoryError:
        return "cannot be made: a part of its path is a file"
    except OSError as exc:
        return f"cannot be made ({exc.strerror or exc})"
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return f"cannot be written ({exc.strerror or exc})"
    return None


def check_places(options: CheckOptions, out_given: bool) -> None:
    """A ConfigError, before any work, when LEADPIPE_HOME or the run directory cannot be
    written; `out_given`: the command line named the run directory (`--out`)."""
    problem = folder_problem(options.home)
    if problem is not None:
        raise ConfigError(
            f"LEADPIPE_HOME {options.home} {problem}: set LEADPIPE_HOME to a folder you can "
            "write (it holds the journal, the target's state and the caches)"
        )
    problem = folder_problem(options.out_dir)
    if problem is not None:
        named = f"--out {options.out_dir}" if out_given else f"the run directory {options.out_dir}"
        raise ConfigError(f"{named} {problem}: give --out a folder you can write")


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
    except OSError as exc:  # a folder, no permission
        raise ConfigError(f"config file {path} cannot be read ({exc.strerror or exc})") from None


def pick(flag: Any, config: dict[str, Any], key: str, default: Any = None) -> Any:
    """A flag wins over the config file, which wins over the default."""
    return flag if flag is not None else config.get(key, default)


def engine_setting(flag: str | None, config: dict[str, Any]) -> EngineSetting:
    """--engine, else the config's `engine`, else LEADPIPE_ENGINE, else auto."""
    value = pick(flag, config, "engine") or os.environ.get("LEADPIPE_ENGINE") or DEFAULT_ENGINE
    if value not in _ENGINES:
        raise ConfigError(f"--engine must be auto, prefect or local, not {value!r}")
    return cast(EngineSetting, value)


def engine_choice(flag: str | None, config: dict[str, Any], *, dask: bool = False) -> Engine:
    """The engine a run uses (`engine_setting`): `auto` is Prefect when a Prefect API is
    configured (PREFECT_API_URL, in the environment or Prefect's own settings files) or the
    run goes to Dask (`dask`: Dask runs Prefect tasks), else in-process."""
    value = engine_setting(flag, config)
    if value != "auto":
        return value
    return "prefect" if dask or configured_api_url() else "local"


def _runner_name(flag: str | None, config: dict[str, Any]) -> str:
    """--runner, else the config's `runner`, else LEADPIPE_RUNNER, else local."""
    value = pick(flag, config, "runner") or os.environ.get("LEADPIPE_RUNNER") or "local"
    if value not in _RUNNERS:
        raise ConfigError(f"--runner must be local or dask, not {value!r}")
    return str(value)


def dask_choice(
    runner: str | None, address: str | None, config: dict[str, Any], engine: Engine
) -> DaskSettings | None:
    """--runner (config `runner`, env LEADPIPE_RUNNER, default local): None for local, else
    where the Dask work goes (--dask-address / `dask_address`, `dask_workers`,
    `dask_partitions`). Dask runs Prefect tasks, so it needs the Prefect engine (which
    `--engine auto` then is)."""
    if _runner_name(runner, config) == "local":
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


def memory_choice(flag: bool | None, config: dict[str, Any]) -> bool:
    """--memory/--no-memory, else the config's `memory`, else on."""
    value = pick(flag, config, "memory", True)
    if not isinstance(value, bool):
        raise ConfigError(f"memory must be true or false, not {value!r}")
    return value


def null_tokens_choice(flag: str | None, config: dict[str, Any]) -> tuple[str, ...]:
    """--null-tokens (comma-separated; "" for none), else the config's `null_tokens` list,
    else `DEFAULT_NULL_TOKENS`; in the form they are matched in (`null_token_keys`)."""
    if flag is not None:
        return null_token_keys(flag.split(","))
    value = config.get("null_tokens", DEFAULT_NULL_TOKENS)
    if not isinstance(value, list | tuple) or not all(isinstance(t, str) for t in value):
        raise ConfigError(
            f'null_tokens must be a list of strings, e.g. null_tokens = ["null", "N/A"], '
            f"not {value!r}"
        )
    return null_token_keys(value)


def null_token_keys(tokens: Iterable[str]) -> tuple[str, ...]:
    """Null tokens as they are matched: trimmed and lower-cased, each once, in the order
    given. Blank ones are dropped (a blank cell is blank anyway).

    >>> null_token_keys(["N/A", " n/a ", "NULL", ""])
    ('n/a', 'null')
    """
    return tuple(dict.fromkeys(key for token in tokens if (key := token.strip().lower())))


class _Reading(TypedDict):
    preset: str | None
    mapping: Path | None
    default_region: str | None
    duplicates: DuplicatePolicy
    sheet: str | None
    memory: bool
    null_tokens: tuple[str, ...]
    strict: bool


def _reading_options(conf: dict[str, Any], flags: dict[str, Any]) -> _Reading:
    """The options of every job that reads a file: how to read, map and clean it, from
    `flags` (named like the CLI options, None where not given) over `conf`."""
    mapping = pick(flags.get("mapping"), conf, "mapping")
    region = pick(flags.get("default_region"), conf, "default_region")
    return {
        "preset": pick(flags.get("preset"), conf, "preset"),
        "mapping": Path(mapping) if mapping else None,
        "default_region": region.strip().upper() if region else None,
        "duplicates": pick(flags.get("duplicates"), conf, "duplicates", DEFAULT_DUPLICATES),
        "sheet": pick(flags.get("sheet"), conf, "sheet"),
        "memory": memory_choice(flags.get("memory"), conf),
        "null_tokens": null_tokens_choice(flags.get("null_tokens"), conf),
        "strict": _strict_choice(flags.get("strict"), conf),
    }


def _strict_choice(flag: bool | None, config: dict[str, Any]) -> bool:
    """--strict, else the config's `strict`, else off."""
    value = pick(flag, config, "strict", False)
    if not isinstance(value, bool):
        raise ConfigError(f"strict must be true or false, not {value!r}")
    return value


def sync_options(
    conf: dict[str, Any], *, source: Path, run_id: str, dry_run: bool, **flags: Any
) -> SyncOptions:
    """Options of a plan/import: `flags` (None where not given) over `conf` over defaults.

    `flags` are named like the CLI options: target, out, preset, mapping, default_region,
    duplicates, mode, blanks, state_file, sheet, memory, null_tokens, max_failed_ratio.
    """
    state_file = pick(flags.get("state_file"), conf, "state_file")
    return SyncOptions(
        source=source,
        out_dir=Path(pick(flags.get("out"), conf, "out", f"runs/{run_id}")),
        run_id=run_id,
        home=leadpipe_home(),
        **_reading_options(conf, flags),
        target=pick(flags.get("target"), conf, "target", ""),
        targets=dict(conf.get("targets", {})),
        mode=pick(flags.get("mode"), conf, "mode", "upsert"),
        blanks=pick(flags.get("blanks"), conf, "blanks", "leave"),
        dry_run=dry_run,
        journal_url=_journal_url(conf.get("journal_url")),
        state_file=Path(state_file) if state_file else None,
        max_failed_ratio=pick(flags.get("max_failed_ratio"), conf, "max_failed_ratio", 1.0),
        on_target_edit=pick(flags.get("on_target_edit"), conf, "on_target_edit", "keep"),
        allow_reopen=pick(flags.get("allow_reopen"), conf, "allow_reopen", False),
        verify_target=pick(flags.get("verify_target"), conf, "verify_target", False),
        refresh_target=pick(flags.get("refresh_target"), conf, "refresh_target", False),
        wait=pick(flags.get("wait"), conf, "wait", 0.0),
        **{name: pick(flags.get(name), conf, name) for name in ALERT_SHARES},
        approve=pick(flags.get("approve"), conf, "approve", False),
        approve_timeout=pick(
            flags.get("approve_timeout"), conf, "approve_timeout", DEFAULT_APPROVE_TIMEOUT_S
        ),
    )


def _journal_url(value: Any) -> SecretStr | None:
    """`journal_url` from the config, checked; messages never quote it (it may hold a password)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError("journal_url must be a string (a SQLite or PostgreSQL URL)")
    from connectors import check_journal_url  # SQLAlchemy only for runs that set it

    try:
        check_journal_url(value)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return SecretStr(value)


Job = Literal["check", "plan", "import", "reconcile", "migrate"]
# Alert thresholds a command takes as flags (and leadpipe.toml as keys); schemas/alerts.py.
ALERT_SHARES = ("alert_failed_share", "alert_invalid_share", "alert_throttled")
# Alert keys of leadpipe.toml only: where a breach is told (flows/_alerts.py; the webhook is a
# secret, so never a flag), and the schedules' "no new file since N hours".
ALERT_KEYS = ("alert_webhook", "alert_webhook_env", "alert_block", "alert_stale_hours")
# Top-level keys of leadpipe.toml besides the options: the targets, the schedules, where the
# journal lives, how large a Dask run's LocalCluster is, and where alerts go.
_TABLES = ("targets", "schedules", "journal_url", "dask_workers", "dask_partitions", *ALERT_KEYS)


@dataclass(frozen=True)
class Flags:
    """What a command line said (None: not given); the config file and defaults fill the rest.

    Every command builds its options through `options_for` with one of these: the flags win
    over `leadpipe.toml` (`config`), which wins over the defaults.
    """

    source: Path | None = None
    config: Path | None = None
    preset: str | None = None
    mapping: Path | None = None
    default_region: str | None = None
    duplicates: str | None = None
    sheet: str | None = None
    memory: bool | None = None  # --memory / --no-memory
    null_tokens: str | None = None  # --null-tokens, comma-separated ("" for none)
    strict: bool | None = None  # --strict: any bad value rejects its row
    out: Path | None = None
    engine: str | None = None
    runner: str | None = None
    dask_address: str | None = None
    target: str | None = None
    mode: str | None = None
    blanks: str | None = None
    state_file: Path | None = None
    resume: str | None = None
    max_failed_ratio: float | None = None
    on_target_edit: str | None = None
    allow_reopen: bool | None = None
    verify_target: bool | None = None
    refresh_target: bool | None = None
    wait: float | None = None
    alert_failed_share: float | None = None  # --alert-failed-share etc. (ALERT_SHARES)
    alert_invalid_share: float | None = None
    alert_throttled: float | None = None
    approve: bool | None = None  # import --approve: a person says yes before anything is sent
    approve_timeout: float | None = None  # seconds to wait for that answer
    origin: str | None = None  # migrate --from
    carry_extras: bool = False
    dry_run: bool = False  # migrate --dry-run (plan is the dry run of import)


# Option keys a config file may set (by flag name, `_` for `-`); `source`, `config`,
# `resume`, `origin`, `carry_extras` and `dry_run` are the command line's alone.
OPTION_KEYS: tuple[str, ...] = tuple(
    f.name
    for f in fields(Flags)
    if f.name not in ("source", "config", "resume", "origin", "carry_extras", "dry_run")
)


def options_for(job: Job, flags: Flags) -> tuple[CheckOptions, Engine]:
    """The options of one run of `job`, built once from `flags` over the config file; the
    engine it runs with. An unknown key in the config file is an error (with the nearest
    known key), never silently ignored; so is a target the file does not define."""
    conf = load_config(flags.config)
    check_config_keys(conf, flags.config)
    target = pick(flags.target, conf, "target")
    if job != "check" and isinstance(target, str) and target:
        check_target(target, conf.get("targets", {}), flags.config)
    return options_from(job, flags, conf)


_SANDBOX_TARGETS = ("sandbox:omni", "sandbox:apten", "sandbox:octanist")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def check_target(name: str, tables: Any, config: Path | None) -> None:
    """A ConfigError when `name` is neither a `[targets.NAME]` table of the config file nor a
    built-in `sandbox:<vendor>`: it names the nearest known target, says which file was
    read (or that none was given with --config) and how a target is defined."""
    known = sorted(tables) if isinstance(tables, dict) else []
    if name.startswith("sandbox:") or name in known:
        return  # a sandbox with an unknown vendor is the sandbox's own message
    near = difflib.get_close_matches(name, [*known, *_SANDBOX_TARGETS], n=1)
    said = f"unknown target {name!r}" + (f" (did you mean {near[0]!r}?)" if near else "")
    table = f"[targets.{name if _BARE_KEY.fullmatch(name) else _toml_string(name)}]"
    built_in = ", ".join(_SANDBOX_TARGETS)
    if config is None:
        raise ConfigError(
            f"{said}: no --config file was given; define the target as a {table} table "
            f"(vendor, base_url, api_key_env) in a leadpipe.toml and pass --config "
            f"leadpipe.toml, or use a built-in target: {built_in}"
        )
    raise ConfigError(
        f"{said}: {config} has no {table} table (vendor, base_url, api_key_env); "
        f"known: {', '.join([*known, *_SANDBOX_TARGETS])}"
    )


def _toml_string(text: str) -> str:
    """`text` as a TOML basic string (JSON's quoting is valid TOML for a target's name)."""
    import json

    return json.dumps(text)


def options_from(
    job: Job, flags: Flags, conf: dict[str, Any], *, run_id: str | None = None
) -> tuple[CheckOptions, Engine]:
    """`options_for` with the config already read (a schedule's options laid over the
    file's); `run_id` for a run that is given its id (default: `--resume`, else a new one)."""
    run_id = run_id or flags.resume or new_run_id()
    on_dask = _runner_name(flags.runner, conf) == "dask"
    engine = engine_choice(flags.engine, conf, dask=on_dask)
    dask = dask_choice(flags.runner, flags.dask_address, conf, engine)
    chosen = {f.name: getattr(flags, f.name) for f in fields(Flags) if f.name in OPTION_KEYS}
    if job == "check":
        assert flags.source is not None
        check = CheckOptions(
            source=flags.source,
            out_dir=Path(pick(flags.out, conf, "out", f"runs/{run_id}")),
            run_id=run_id,
            home=leadpipe_home(),
            **_reading_options(conf, chosen),
            dask=dask,
        )
        return check, engine
    if job == "migrate":
        assert flags.origin is not None
        migrate = migrate_options(
            conf,
            origin=flags.origin,
            run_id=run_id,
            carry_extras=flags.carry_extras,
            dry_run=flags.dry_run,
            **chosen,
        )
        return replace(migrate, dask=dask, resume=flags.resume is not None), engine
    assert flags.source is not None
    sync = sync_options(conf, source=flags.source, run_id=run_id, dry_run=job != "import", **chosen)
    return replace(sync, dask=dask, resume=flags.resume is not None), engine


def migrate_options(
    conf: dict[str, Any], *, origin: str, run_id: str, carry_extras: bool, **flags: Any
) -> MigrateOptions:
    """Options of a migration from `origin`: a profile (config or built-in) or an export."""
    is_profile = origin.startswith("sandbox:") or origin in conf.get("targets", {})
    if not is_profile and not Path(origin).exists():
        raise ConfigError(
            f"--from {origin!r} is neither a target profile ([targets.NAME] or "
            "sandbox:omni|apten|octanist) nor an existing file"
        )
    if is_profile:
        flags["preset"] = flags.get("preset") or "generic"
    base = sync_options(conf, source=Path(origin), run_id=run_id, **flags)
    options = MigrateOptions(
        **{f.name: getattr(base, f.name) for f in fields(base)},
        origin=origin if is_profile else None,
        carry_extras=carry_extras,
    )
    if not is_profile:
        return options
    flat = re.sub(r"[^A-Za-z0-9_.-]+", "_", origin)
    return replace(options, source=options.out_dir / ".scratch" / f"{flat}.csv")


def check_config_keys(conf: dict[str, Any], path: Path | None) -> None:
    """A key of leadpipe.toml that no option or table has is a mistake: say so, and which key
    was probably meant."""
    known = (*OPTION_KEYS, *_TABLES)
    unknown = sorted(set(conf) - set(known))
    if not unknown:
        return
    hints = []
    for key in unknown:
        near = difflib.get_close_matches(key, known, n=1)
        hints.append(f"{key!r} (did you mean {near[0]!r}?)" if near else repr(key))
    raise ConfigError(
        f"config file {path}: unknown key(s) {', '.join(hints)}; known: {', '.join(sorted(known))}"
    )


@dataclass(frozen=True)
class RevertOptions:
    """`leadpipe revert RUN_ID`: the run to undo (`reverts`), this run's id and directory, and
    where to write (`target`; empty: the reverted run's own profile)."""

    reverts: str
    run_id: str
    out_dir: Path
    home: Path = DEFAULT_HOME
    target: str = ""
    targets: dict[str, Any] = field(default_factory=dict)  # [targets.*] tables of the config
    dry_run: bool = False
    resume: bool = False  # --resume REVERT_ID: continue that revert (its id is `run_id`)
    journal_url: SecretStr | None = None
    wait: float = 0.0

    def __post_init__(self) -> None:
        check_segment(self.reverts, "run id")
        check_segment(self.run_id, "run id")
        if isinstance(self.wait, bool) or not isinstance(self.wait, int | float) or self.wait < 0:
            raise ConfigError(f"--wait must be a number of seconds (0 or more), not {self.wait!r}")


def revert_options(
    config: Path | None,
    *,
    reverts: str,
    target: str | None = None,
    out: Path | None = None,
    dry_run: bool = False,
    resume: str | None = None,
    wait: float | None = None,
) -> RevertOptions:
    """Options of `leadpipe revert`: the flags over the config file (targets, journal_url)."""
    conf = load_config(config)
    check_config_keys(conf, config)
    if target:
        check_target(target, conf.get("targets", {}), config)
    run_id = resume or new_run_id()
    return RevertOptions(
        reverts=reverts,
        run_id=run_id,
        out_dir=Path(out or f"runs/{run_id}"),
        home=leadpipe_home(),
        target=target or "",
        targets=dict(conf.get("targets", {})),
        dry_run=dry_run,
        resume=resume is not None,
        journal_url=_journal_url(conf.get("journal_url")),
        wait=pick(wait, conf, "wait", 0.0),
    )
