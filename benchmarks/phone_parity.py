"""The phone engine against plain ``phonenumbers``: parity, fallback share and speed.

``check_parity`` runs ``parse_phone_values`` (the vectorised engine, with ``phonenumbers`` for
what it leaves undecided) and ``_parse_one`` (``phonenumbers`` value by value, the reference) on
``values`` seeded values, in chunks: libphonenumber's example numbers of every region and type
mangled the ways spreadsheets mangle them, Faker numbers in many locales, and the spreadsheet
corpus of the tests (``tests/transforms/phone_corpus.py``). It counts the keys whose result rows
differ in any column, the share of keys the engine left to ``phonenumbers``, and times both on
the first chunk.

``export_fallback_share`` is that share for the phones of a benchmark export (see
``benchmarks/generate.py``), read as ``leadpipe check`` reads them; ``time_export`` times both
parsers on an export's distinct phone keys.

Run ``python -m benchmarks.phone_parity [VALUES] [--seed N]`` for the parity check, or
``python -m benchmarks.phone_parity --export CSV [--keys N]`` to time an export's phones.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from benchmarks._settings import Settings
from benchmarks._table import Row
from benchmarks.generate import make_export
from schemas.presets import header_key_expr
from tests.transforms.phone_corpus import corpus, faker_phones, mangled_examples
from transforms._lookup import per_value
from transforms._phone_engine import parse_keys
from transforms._phone_meta import plan_for, plan_keys
from transforms.phones import (
    KEY_COLUMNS,
    PHONE_RESULT_SCHEMA,
    _parse_one,
    clean_phone,
    parse_phone_values,
)
from transforms.values import country_lookup

DEFAULT_VALUES = 5_000_000
CHUNK = 500_000
EXPORT_PHONES = ("Phone Number", "Mobile Phone Number")
EXPORT_COUNTRY = "Country/Region"


@dataclass(frozen=True)
class Parity:
    """What ``check_parity`` found."""

    values: int  # values generated
    keys: int  # distinct (phone_key, region) rows compared
    mismatches: int  # keys whose result rows differ
    fallback_share: float  # share of keys the engine left to phonenumbers
    sample_keys: int  # keys of the first chunk, on which both are timed
    engine_seconds: float
    oracle_seconds: float


@dataclass(frozen=True)
class PhoneResult:
    """The engine against plain phonenumbers, and its fallback share on the bench's export."""

    parity: Parity
    export_keys: int
    export_fallback_share: float

    @property
    def ok(self) -> bool:
        return self.parity.mismatches == 0

    def table_rows(self) -> list[Row]:
        parity = self.parity
        note = (
            f"phonenumbers alone {parity.oracle_seconds:.1f} s on the same keys; fallback "
            f"{parity.fallback_share:.3%} here, {self.export_fallback_share:.3%} of the "
            f"export's {self.export_keys:,} phone keys"
        )
        return [
            Row(
                "phone engine vs phonenumbers (speed)",
                rows=parity.sample_keys,
                seconds=parity.engine_seconds,
                rate=parity.sample_keys / parity.engine_seconds,
                measured=f"{parity.oracle_seconds / parity.engine_seconds:.1f}× phonenumbers",
                note=note,
            ),
            Row(
                "phone engine vs phonenumbers (parity)",
                rows=parity.keys,
                measured=f"{parity.mismatches:,} keys differ",
                goal="0",
                met=parity.mismatches == 0,
                note=f"of {parity.keys:,} distinct keys from {parity.values:,} values",
            ),
        ]

    def caption(self) -> list[str]:
        return []


def measure(settings: Settings) -> PhoneResult:
    """Parity on ``settings.phone_values`` values, and the fallback share of the largest export."""
    parity = check_parity(settings.phone_values, settings.seed)
    keys, share = export_fallback_share(make_export(settings.rows, settings.seed))
    return PhoneResult(parity, keys, share)


@dataclass(frozen=True)
class Speed:
    keys: int
    engine_seconds: float
    oracle_seconds: float | None


def check_parity(values: int = DEFAULT_VALUES, seed: int = 7, chunk: int = CHUNK) -> Parity:
    """Engine vs ``phonenumbers`` on ``values`` seeded values (see the module docstring).

    The first chunk runs alone in this process and is the one timed; the others, independent,
    run on every core (``phonenumbers`` is one Python call per key: ~9 minutes for 5M values
    on one core).
    """
    sizes = [
        (min(chunk, values - start), seed + n) for n, start in enumerate(range(0, values, chunk))
    ]
    first, speed = _check_chunk(*sizes[0], timed=True)
    found = [first]
    if len(sizes) > 1:
        spawn = multiprocessing.get_context("spawn")  # polars' threads do not survive a fork
        workers = min(os.cpu_count() or 1, len(sizes) - 1)
        with ProcessPoolExecutor(workers, mp_context=spawn) as pool:
            found += [r for r, _ in pool.map(_check_chunk, *zip(*sizes[1:], strict=True))]
    keys, mismatches, undecided = (sum(column) for column in zip(*found, strict=True))
    return Parity(
        values=values,
        keys=keys,
        mismatches=mismatches,
        fallback_share=undecided / max(keys, 1),
        sample_keys=speed.keys,
        engine_seconds=speed.engine_seconds,
        oracle_seconds=speed.oracle_seconds or 0.0,
    )


def _check_chunk(
    size: int, seed: int, *, timed: bool = False
) -> tuple[tuple[int, int, int], Speed]:
    """(keys, keys that differ, keys the engine left undecided) of one chunk, and its timing."""
    _load_metadata()
    frame = _keys(_values(size, seed))
    started = time.perf_counter()
    got = parse_phone_values(frame)
    engine_seconds = time.perf_counter() - started
    started = time.perf_counter()
    want = per_value(frame, KEY_COLUMNS, _parse_one, PHONE_RESULT_SCHEMA)
    speed = Speed(frame.height, engine_seconds, time.perf_counter() - started if timed else None)
    mismatches = sum(g != w for g, w in zip(got.rows(), want.rows(), strict=True))
    undecided = int(parse_keys(frame)["undecided"].sum())
    return (frame.height, mismatches, undecided), speed


def export_keys(path: Path) -> pl.DataFrame:
    """The distinct (phone_key, region) rows of an export's phone columns."""
    raw = pl.read_csv(path, infer_schema=False, columns=[*EXPORT_PHONES, EXPORT_COUNTRY])
    region = header_key_expr(pl.col(EXPORT_COUNTRY)).replace_strict(
        country_lookup(), default=None, return_dtype=pl.String
    )
    phones = [
        raw.select(clean_phone(c).alias("phone_key"), region.alias("region")) for c in EXPORT_PHONES
    ]
    return pl.concat(phones).drop_nulls("phone_key").unique(maintain_order=True)


def export_fallback_share(path: Path) -> tuple[int, float]:
    """(distinct phone keys, share the engine leaves to ``phonenumbers``) of an export."""
    keys = export_keys(path)
    undecided = int(parse_keys(keys)["undecided"].sum())
    return keys.height, undecided / max(keys.height, 1)


def time_export(path: Path, limit: int | None = None, *, oracle: bool = True) -> Speed:
    """Seconds for ``parse_phone_values`` (and, if ``oracle``, for ``_parse_one`` on each key)
    on the first ``limit`` distinct phone keys of an export."""
    keys = export_keys(path)
    keys = keys.head(limit) if limit is not None else keys
    _load_metadata()
    started = time.perf_counter()
    parse_phone_values(keys)
    engine_seconds = time.perf_counter() - started
    if not oracle:
        return Speed(keys.height, engine_seconds, None)
    started = time.perf_counter()
    per_value(keys, KEY_COLUMNS, _parse_one, PHONE_RESULT_SCHEMA)
    return Speed(keys.height, engine_seconds, time.perf_counter() - started)


def _load_metadata() -> None:
    """Load every plan's metadata (which both parsers share) before anything is timed."""
    for key in plan_keys():
        plan_for(key)


def _values(size: int, seed: int) -> list[tuple[str, str | None]]:
    """``size`` (text, region) pairs: 40 % mangled examples, 30 % Faker, 30 % corpus."""
    examples = mangled_examples(size * 4 // 10, seed)
    fakes = faker_phones(max(size * 3 // 10 // 28, 1), seed)
    rest = size - len(examples) - len(fakes)
    return [*examples, *fakes, *((c.text, c.region) for c in corpus(max(rest, 0), seed))]


def _keys(pairs: list[tuple[str, str | None]]) -> pl.DataFrame:
    frame = pl.DataFrame(pairs, schema={"text": pl.String, "region": pl.String}, orient="row")
    cleaned = frame.select(clean_phone("text").alias("phone_key"), "region")
    return cleaned.drop_nulls("phone_key").unique(maintain_order=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("values", type=int, nargs="?", default=DEFAULT_VALUES)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--export", type=Path, default=None, help="time an export's phones")
    parser.add_argument("--keys", type=int, default=None, help="at most this many keys")
    args = parser.parse_args()
    if args.export is not None:
        print(time_export(args.export, args.keys))
        print("keys, fallback share:", export_fallback_share(args.export))
    else:
        print(check_parity(args.values, args.seed))


if __name__ == "__main__":
    main()
