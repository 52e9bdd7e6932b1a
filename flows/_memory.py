"""Mapping memory under LEADPIPE_HOME: a `--mapping` file remembered by the headers of the
export it was used with, and offered for the next export with the same headers.

Analysts get the same export every week; after one run with `--mapping FILE` the next run of
that export maps the same way without the flag (`--no-memory` turns this off). Per remembered
mapping, two files under `home/mappings/`, each written atomically::

    <fingerprint>.toml   the mapping file's text as it was when remembered
    <fingerprint>.json   {"version", "remembered_at", "original", "headers", "sha256"}

The sidecar's `sha256` is that of the TOML text beside it: a run killed between the two
writes leaves a pair that does not agree, which `recall_mapping` ignores like any other damage
(forgetting a mapping is safe; applying the wrong one is not).
"""

from __future__ import annotations

import hashlib
import json
import logging
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from schemas.files import atomic_write
from schemas.presets import header_key

__all__ = ["MEMORY_VERSION", "Recalled", "header_fingerprint", "recall_mapping", "remember_mapping"]

logger = logging.getLogger(__name__)

MEMORY_VERSION = 1
# The ASCII unit separator: `header_key` keeps only [0-9a-z], so it never occurs in a key and
# ("ab", "c") and ("a", "bc") cannot join to the same text.
_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class Recalled:
    """A remembered mapping: the stored TOML file, when it was remembered (ISO time) and the
    path of the mapping file it was copied from."""

    path: Path
    remembered_at: str
    original: str


class _Damaged(Exception):
    """A remembered mapping that cannot be trusted (why, in one line)."""


def header_fingerprint(headers: tuple[str, ...]) -> str:
    """The sha256 (hex) of the export's headers, in file order, each as its `header_key`.

    Case, accents, spaces and punctuation do not count (`First Name` and `first_name` are the
    same header, as in mapping files); the order and the set of headers do. It depends on
    nothing but the headers, so it is the same on every run and machine.

    >>> header_fingerprint(("First Name", "E-mail")) == header_fingerprint(("first_name", "email"))
    True
    """
    keys = _SEPARATOR.join(header_key(header) for header in headers)
    return hashlib.sha256(keys.encode("utf-8")).hexdigest()


def remember_mapping(
    home: Path, headers: tuple[str, ...], mapping_file: Path, now: datetime
) -> Path:
    """Store a copy of `mapping_file` for exports with these `headers`; the stored TOML's path.

    A mapping remembered earlier for the same headers is replaced. Raises OSError (or
    UnicodeDecodeError) when the mapping file cannot be read or the home cannot be written.
    """
    text = mapping_file.read_text(encoding="utf-8")
    stored, sidecar = _paths(home, header_fingerprint(headers))
    facts = {
        "version": MEMORY_VERSION,
        "remembered_at": now.isoformat(timespec="seconds"),
        "original": str(mapping_file.resolve()),
        "headers": list(headers),
        "sha256": _sha256(text),
    }
    atomic_write(stored, lambda partial: partial.write_text(text, encoding="utf-8"))
    atomic_write(
        sidecar, lambda partial: partial.write_text(json.dumps(facts, indent=2), encoding="utf-8")
    )
    logger.info("remembered mapping %s for these headers as %s", mapping_file, stored.name)
    return stored


def recall_mapping(home: Path, headers: tuple[str, ...]) -> Recalled | None:
    """The mapping remembered for exports with these `headers`, or None.

    A remembered mapping that is damaged (unreadable, not TOML, a sidecar that does not match
    the TOML or the headers) is ignored with a warning: the run goes on as if none was stored.
    """
    fingerprint = header_fingerprint(headers)
    stored, sidecar = _paths(home, fingerprint)
    if not sidecar.exists():
        return None
    try:
        return _recalled(stored, sidecar, fingerprint)
    except _Damaged as exc:
        logger.warning("remembered mapping %s is ignored: %s", sidecar, exc)
        return None


def _recalled(stored: Path, sidecar: Path, fingerprint: str) -> Recalled:
    facts = _facts(sidecar)
    if header_fingerprint(tuple(facts["headers"])) != fingerprint:
        raise _Damaged("it was remembered for other headers")
    text = _read(stored)
    if _sha256(text) != facts["sha256"]:
        raise _Damaged(f"{stored.name} is not the file it remembered (changed or half-written)")
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _Damaged(f"{stored.name} is not valid TOML ({exc})") from None
    return Recalled(stored, facts["remembered_at"], facts["original"])


def _facts(sidecar: Path) -> dict[str, Any]:
    """The sidecar's fields, checked for shape."""
    try:
        facts = json.loads(_read(sidecar))
    except json.JSONDecodeError as exc:
        raise _Damaged(f"not valid JSON ({exc})") from None
    if not isinstance(facts, dict) or facts.get("version") != MEMORY_VERSION:
        raise _Damaged(f"not a version {MEMORY_VERSION} record")
    strings = ("remembered_at", "original", "sha256")
    headers = facts.get("headers")
    if not all(isinstance(facts.get(key), str) for key in strings) or not (
        isinstance(headers, list) and all(isinstance(header, str) for header in headers)
    ):
        raise _Damaged("fields missing or of the wrong type")
    return facts


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _Damaged(f"cannot read {path.name} ({type(exc).__name__})") from None


def _paths(home: Path, fingerprint: str) -> tuple[Path, Path]:
    folder = home / "mappings"
    return folder / f"{fingerprint}.toml", folder / f"{fingerprint}.json"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
