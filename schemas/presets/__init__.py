"""Column-mapping presets: plain TOML data, one file per source shape.

A preset (and a user mapping file, which has the same shape) says, per canonical field, which
source headers may hold it, in priority order (the first non-blank one wins), plus value maps,
constants and columns to drop::

    name = "hubspot"
    description = "HubSpot contacts export"
    extends = "generic"              # optional: start from another preset (user files mostly)
    drop = ["Create Date"]           # columns that go nowhere (not even to `custom`)
    distinctive = ["Record ID", "Lifecycle Stage"]   # headers only this system writes

    [fields]
    external_id = "Record ID"
    phone = ["Phone Number", "Mobile Phone Number"]
    "custom.lifecycle_stage" = "Lifecycle Stage"   # an extra value kept under `custom`
    "checklist.tax_id" = "Tax ID"                  # an Omni checklist item by code

    [values.status]                  # source word -> canonical word (case/punctuation ignored)
    "Open Deal" = "qualified"

    [constants]                      # fills a field wherever the file leaves it blank
    country = "US"

Header matching ignores case, surrounding spaces and punctuation (`header_key`).

`distinctive` lists headers that only this system writes, spelled exactly as it writes them
(e.g. Google Contacts' `E-mail 1 - Value`, Salesforce's API name `FirstName`). Detection uses
them, and only them, to tell one system's export from another's, so they are compared as
written, ignoring only surrounding and repeated spaces (`distinctive_key`): `FirstName` is
Salesforce's, `First Name` is everybody's, and HubSpot's `Record ID` is not Zoho's `Record Id`.
A preset without `distinctive` headers is never detected (it can still be chosen); a user
mapping file does not inherit the `distinctive` headers of the preset it extends.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from schemas.exceptions import UsageError
from schemas.fields import CANONICAL_FIELDS, MAPPING_ONLY_FIELDS

__all__ = [
    "MappingSpec",
    "MappingSpecError",
    "available_presets",
    "distinctive_key",
    "header_key",
    "header_key_expr",
    "load_mapping_file",
    "load_preset",
]

_PREFIXED_TARGETS = ("custom.", "checklist.")
_NOT_KEY = re.compile(r"[^0-9a-z]+")


class MappingSpecError(UsageError):
    """A preset or mapping file that cannot be used as written."""


def header_key(text: str) -> str:
    """Compare headers and value words ignoring case, accents, spaces and punctuation.

    >>> header_key(" Country/Region ") == header_key("country region"), header_key("España")
    (True, 'espana')
    """
    folded = unicodedata.normalize("NFKD", text.lower())
    return _NOT_KEY.sub("", "".join(c for c in folded if not unicodedata.combining(c)))


def distinctive_key(text: str) -> str:
    """A header as detection compares it: as written, but for surrounding and repeated spaces.

    >>> distinctive_key(" E-mail 1  - Value\ufeff"), distinctive_key("FirstName") == "First Name"
    ('E-mail 1 - Value', False)
    """
    return " ".join(text.replace("\ufeff", " ").split())


def header_key_expr(text: pl.Expr) -> pl.Expr:
    """`header_key` as a polars expression, for comparing values with preset words."""
    folded = text.str.to_lowercase().str.normalize("NFKD").str.replace_all(r"\p{M}", "")
    return folded.str.replace_all(r"[^0-9a-z]+", "")


@dataclass(frozen=True)
class MappingSpec:
    """A parsed preset or mapping file."""

    name: str
    description: str = ""
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    constants: Mapping[str, str] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    extends: str | None = None
    distinctive: tuple[str, ...] = ()

    def distinctive_in(self, headers: tuple[str, ...]) -> tuple[str, ...]:
        """The file's headers that are among this spec's distinctive ones, in file order."""
        keys = {distinctive_key(d) for d in self.distinctive}
        return tuple(dict.fromkeys(h for h in headers if distinctive_key(h) in keys))

    def merged_over(self, base: MappingSpec) -> MappingSpec:
        """This spec's entries win; the base fills the rest."""
        values = {k: dict(v) for k, v in base.values.items()}
        for target, words in self.values.items():
            values.setdefault(target, {}).update(words)
        return MappingSpec(
            name=self.name,
            description=self.description or base.description,
            fields={**base.fields, **self.fields},
            values=values,
            constants={**base.constants, **self.constants},
            drop=tuple(dict.fromkeys(base.drop + self.drop)),
            # What tells this system's files apart is its own, never inherited.
            distinctive=self.distinctive,
        )


def available_presets() -> tuple[str, ...]:
    """Names of the presets shipped in this package."""
    folder = resources.files(__name__)
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml")))


def load_preset(name: str) -> MappingSpec:
    """A shipped preset by name, with whatever it `extends` merged underneath."""
    if name not in available_presets():
        known = ", ".join(available_presets())
        raise MappingSpecError(f"unknown preset {name!r} (known presets: {known})")
    text = resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    spec = _parse(tomllib.loads(text), origin=f"preset {name}")
    return spec.merged_over(load_preset(spec.extends)) if spec.extends else spec


def load_mapping_file(path: Path) -> MappingSpec:
    """A user mapping file; its `extends` (a preset name) is resolved by the caller."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingSpecError(f"mapping file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingSpecError(f"mapping file {path} is not valid TOML: {exc}") from None
    return _parse(data, origin=f"mapping file {path}")


def _parse(data: dict[str, Any], origin: str) -> MappingSpec:
    unknown = set(data) - {
        "name",
        "description",
        "extends",
        "drop",
        "fields",
        "values",
        "constants",
        "distinctive",
    }
    if unknown:
        raise MappingSpecError(f"{origin}: unknown section(s) {sorted(unknown)}")
    fields = {
        _check_target(t, origin): _as_headers(v, t, origin)
        for t, v in _table(data, "fields", origin).items()
    }
    values = {
        _check_target(t, origin): {
            str(k): str(v) for k, v in _table({"w": words}, "w", origin).items()
        }
        for t, words in _table(data, "values", origin).items()
    }
    constants = {
        _check_target(t, origin): str(v) for t, v in _table(data, "constants", origin).items()
    }
    drop = data.get("drop", [])
    if not isinstance(drop, list) or not all(isinstance(d, str) for d in drop):
        raise MappingSpecError(f"{origin}: `drop` must be a list of column names")
    extends = data.get("extends")
    if extends is not None and not isinstance(extends, str):
        raise MappingSpecError(f"{origin}: `extends` must be a preset name")
    distinctive = data.get("distinctive", [])
    if not isinstance(distinctive, list) or not all(isinstance(d, str) for d in distinctive):
        raise MappingSpecError(f"{origin}: `distinctive` must be a list of column names")
    return MappingSpec(
        name=str(data.get("name", origin)),
        description=str(data.get("description", "")),
        fields=fields,
        values=values,
        constants=constants,
        drop=tuple(drop),
        extends=extends,
        distinctive=tuple(distinctive),
    )


def _table(data: Mapping[str, Any], key: str, origin: str) -> dict[str, Any]:
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise MappingSpecError(f"{origin}: `{key}` must be a table")
    return table


def _check_target(target: str, origin: str) -> str:
    if target in CANONICAL_FIELDS or target in MAPPING_ONLY_FIELDS:
        return target
    if target.startswith(_PREFIXED_TARGETS) and target.split(".", 1)[1]:
        return target
    raise MappingSpecError(
        f"{origin}: {target!r} is not a canonical field "
        "(use one of the canonical names, or custom.<key> / checklist.<code>)"
    )


def _as_headers(value: Any, target: str, origin: str) -> tuple[str, ...]:
    headers = [value] if isinstance(value, str) else value
    if not isinstance(headers, list) or not headers or not all(isinstance(h, str) for h in headers):
        raise MappingSpecError(f"{origin}: `{target}` must name a column or a list of columns")
    return tuple(headers)
