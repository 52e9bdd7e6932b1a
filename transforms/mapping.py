"""Map source columns to the canonical lead: presets, user mapping files, preset detection.

`resolve_mapping` decides, from the file's headers, which source column feeds which canonical
field (`ResolvedMapping`); `apply_mapping` is the pure polars step that builds the canonical
columns from it. Columns that map to nothing land in `custom` unless the mapping drops them.

    >>> m = resolve_mapping(("E-mail", "Tel", "Shoe size"), preset="generic")
    >>> m.sources["email"], m.custom_columns
    (('E-mail',), ('Shoe size',))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from schemas.fields import CANONICAL_FIELDS, CHECKLIST_ITEM, CUSTOM_ENTRY
from schemas.presets import (
    MappingSpec,
    available_presets,
    header_key,
    header_key_expr,
    load_mapping_file,
    load_preset,
)
from transforms.cells import MULTI_VALUE_FIELDS, candidates, cell, null_words
from transforms.exceptions import MappingError
from transforms.read import READ_ERROR, READ_WARNING
from transforms.values import per_distinct

__all__ = [
    "ResolvedMapping",
    "apply_mapping",
    "detect_preset",
    "mapped_share",
    "resolve_mapping",
    "text_fields",
]

_GENERIC = "generic"


@dataclass(frozen=True)
class ResolvedMapping:
    """Which file columns feed which target, for one file."""

    preset: str
    detected: bool
    coverage: float
    sources: dict[str, tuple[str, ...]]
    values: dict[str, dict[str, str]]
    constants: dict[str, str]
    custom_columns: tuple[str, ...]
    dropped: tuple[str, ...]
    mapping_file: str | None = None
    # The file's headers that made detection choose `preset`; empty for generic or a given one.
    decided_by: tuple[str, ...] = ()
    # When `mapping_file` came from the mapping memory: when it was remembered (ISO time).
    remembered_at: str | None = None


# A preset is detected only with at least this many of its distinctive headers, and at least
# this many times as many as any other preset has: near ties and lone hits fall to `generic`,
# which maps the common column names of any system (a wrong vendor preset maps fewer).
_MIN_DISTINCTIVE = 2
_LEAD_FACTOR = 2


def detect_preset(headers: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """The preset the headers clearly point to, and the headers that decided; else `generic`.

    Only distinctive headers count (see `schemas.presets`): the winner needs at least 2 of its
    own and at least twice as many as the runner-up.

    >>> detect_preset(("Given Name", "E-mail 1 - Value", "Phone 1 - Value"))
    ('google_contacts', ('E-mail 1 - Value', 'Phone 1 - Value'))
    >>> detect_preset(("Name", "Email", "Phone", "Lead Owner"))
    ('generic', ())
    """
    ranked = sorted(
        ((load_preset(name).distinctive_in(headers), name) for name in available_presets()),
        key=lambda hit: len(hit[0]),
        reverse=True,
    )
    best, name = ranked[0]
    runner_up = len(ranked[1][0]) if len(ranked) > 1 else 0
    if len(best) >= _MIN_DISTINCTIVE and len(best) >= _LEAD_FACTOR * runner_up:
        return name, best
    return _GENERIC, ()


def resolve_mapping(
    headers: tuple[str, ...], *, preset: str | None = None, mapping_file: Path | None = None
) -> ResolvedMapping:
    """Resolve a preset (given or detected) and an optional user mapping file against headers."""
    user = load_mapping_file(mapping_file) if mapping_file else None
    base_name = preset or (user.extends if user else None)
    detected = base_name is None
    decided_by: tuple[str, ...] = ()
    if base_name is None:
        base_name, decided_by = detect_preset(headers)
    spec = load_preset(base_name)
    if user is not None:
        _require_columns(user, headers, mapping_file)
        spec = user.merged_over(spec)
    drop_keys = {header_key(d) for d in spec.drop}
    dropped = tuple(h for h in headers if header_key(h) in drop_keys)
    kept = tuple(h for h in headers if h not in dropped)
    sources = _claim(spec, _index(kept))
    claimed = {h for cols in sources.values() for h in cols}
    custom = tuple(h for h in kept if h not in claimed)
    return ResolvedMapping(
        preset=base_name,
        detected=detected,
        coverage=round(len(claimed) / max(len(headers), 1), 3),
        sources=sources,
        values={
            t: {header_key(k): v for k, v in words.items()} for t, words in spec.values.items()
        },
        constants=dict(spec.constants),
        custom_columns=custom,
        dropped=dropped,
        mapping_file=str(mapping_file) if mapping_file else None,
        decided_by=decided_by,
    )


def mapped_share(headers: tuple[str, ...], preset: str | None = None) -> float:
    """The share of `headers` a preset (given, or detected) maps: how well a sheet reads."""
    return resolve_mapping(headers, preset=preset).coverage


def text_fields(
    mapping: ResolvedMapping, fields: Sequence[str], *, null_tokens: Sequence[str] = ()
) -> list[pl.Expr]:
    """`fields` as `apply_mapping` first reads them (text, blanks and null words null; a cell
    of several values whole), over the file's own columns: for a pass over a few fields of a
    whole file (its home region, say) without mapping every column."""
    words = null_words(null_tokens)
    # The first non-blank cell, not split into its values: a pass over a whole file wants
    # no list per row, and a cell's first value starts it anyway.
    return [_field_expr(f, mapping, words).alias(f) for f in fields]


def _index(headers: tuple[str, ...]) -> dict[str, str]:
    """`header_key` -> the first header with that key."""
    index: dict[str, str] = {}
    for header in headers:
        index.setdefault(header_key(header), header)
    return index


def _claim(spec: MappingSpec, index: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Per target, the file headers its aliases name; each header feeds one target only."""
    taken: set[str] = set()
    sources: dict[str, tuple[str, ...]] = {}
    for target, aliases in spec.fields.items():
        found = [index[k] for k in map(header_key, aliases) if k in index and index[k] not in taken]
        found = list(dict.fromkeys(found))
        if found:
            sources[target] = tuple(found)
            taken.update(found)
    return sources


def _require_columns(user: MappingSpec, headers: tuple[str, ...], path: Path | None) -> None:
    keys = {header_key(h) for h in headers}
    for target, aliases in user.fields.items():
        if not any(header_key(a) in keys for a in aliases):
            named = " or ".join(repr(a) for a in aliases)
            raise MappingError(
                f"mapping file {path} maps {target} to {named}, which the file does not have "
                f"(its columns: {', '.join(headers)})"
            )


def apply_mapping(
    lf: pl.LazyFrame, mapping: ResolvedMapping, *, null_tokens: Sequence[str] = ()
) -> pl.LazyFrame:
    """Build the canonical columns (all text, plus `custom` and `checklist` lists).

    Cells that are blank or hold one of `null_tokens` (`null`, `N/A`, ...) are null. Email and
    phone also come as `_email_candidates` / `_phone_candidates`: every value the row gives,
    from all their columns and split where a cell holds several (`transforms.cells`); the
    field itself is the first of them until `normalise` picks the first valid one. The
    reader's per-row note (`_warn_row`) is kept.
    """
    words = null_words(null_tokens)
    plain = {t: _field_expr(t, mapping, words) for t in (*CANONICAL_FIELDS, "full_name")}
    first, last = _split_full_name(plain.pop("full_name"))
    plain["first_name"] = pl.coalesce(plain["first_name"], first)
    plain["last_name"] = pl.coalesce(plain["last_name"], last)
    plain["custom"] = _entries(_custom_sources(mapping, words), CUSTOM_ENTRY, "key")
    plain["checklist"] = _entries(_prefixed(mapping, "checklist.", words), CHECKLIST_ITEM, "code")
    several = {
        f: candidates(mapping.sources[f], f, words)
        for f in MULTI_VALUE_FIELDS
        if mapping.sources.get(f)
    }
    for f, values in several.items():
        plain[f] = values.list.first()
    # The reader's note alone: a file's own column named like a note (`_warn_x`) is data.
    notes = [c for c in lf.collect_schema().names() if c == READ_WARNING]
    return lf.select(
        "source_file",
        "source_row",
        *[plain[f].alias(f) for f in CANONICAL_FIELDS],
        *[values.alias(f"_{f}_candidates") for f, values in several.items()],
        READ_ERROR,
        *notes,
    )


def _field_expr(target: str, mapping: ResolvedMapping, null_words: Sequence[str]) -> pl.Expr:
    columns = mapping.sources.get(target, ())
    expr = (
        pl.coalesce(*[cell(c, null_words) for c in columns]) if columns else pl.lit(None, pl.String)
    )
    words = mapping.values.get(target)
    if words:
        # Value words (statuses, types) repeat: each distinct spelling is looked up once.
        expr = pl.coalesce(per_distinct(expr, _word_lookup(words)), expr)
    if target in mapping.constants:
        expr = pl.coalesce(expr, pl.lit(mapping.constants[target]))
    return expr


def _word_lookup(words: dict[str, str]) -> Callable[[pl.Expr], pl.Expr]:
    def lookup(value: pl.Expr) -> pl.Expr:
        return header_key_expr(value).replace_strict(words, default=None, return_dtype=pl.String)

    return lookup


def _split_full_name(full: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """`Ann Marie Smith` -> (`Ann Marie`, `Smith`); a single word is a first name."""
    parts = full.str.strip_chars().str.extract_groups(r"^(.*\S)\s+(\S+)$")
    first = pl.coalesce(parts.struct.field("1"), full.str.strip_chars())
    return first, parts.struct.field("2")


def _prefixed(
    mapping: ResolvedMapping, prefix: str, null_words: Sequence[str]
) -> dict[str, pl.Expr]:
    return {
        target.removeprefix(prefix): _field_expr(target, mapping, null_words)
        for target in (*mapping.sources, *mapping.constants)
        if target.startswith(prefix)
    }


def _custom_sources(mapping: ResolvedMapping, null_words: Sequence[str]) -> dict[str, pl.Expr]:
    named = _prefixed(mapping, "custom.", null_words)
    # Blank values are dropped by `_entries` itself: one filter instead of a `when` per column.
    plain = {
        h: cell(h, null_words) if null_words else pl.col(h).cast(pl.String)
        for h in mapping.custom_columns
        if h not in named
    }
    return {**named, **plain}


def _entries(values: dict[str, pl.Expr], dtype: pl.Struct, key_name: str) -> pl.Expr:
    """A list of structs, one per non-blank value, e.g. [{key: "city", value: "Oslo"}]."""
    if not values:
        return pl.lit([], dtype=pl.List(dtype))
    items = [
        pl.struct(
            *[
                pl.lit(key).alias(key_name)
                if f.name == key_name
                else value.alias("value")
                if f.name == "value"
                else pl.lit(None, pl.String).alias(f.name)
                for f in dtype.fields
            ]
        )
        for key, value in values.items()
    ]
    # Built as an array, then entries without a value filtered out: `concat_list` +
    # `list.drop_nulls` of structs take a slow path (~25x the time and ~2.5x the memory at 1M
    # rows), and a `when` per entry costs ~3x at 100k columns.
    value = pl.element().struct.field("value")
    has_value = value.is_not_null() & (value.str.strip_chars() != "")
    return pl.concat_arr(items).arr.to_list().list.filter(has_value)
