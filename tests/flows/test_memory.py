"""Mapping memory: the header fingerprint, remember then recall, and damage ignored."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows._memory import Recalled, header_fingerprint, recall_mapping, remember_mapping

HEADERS = ("Email", "First Name", "Phone Number")
MAPPING = 'extends = "generic"\n[fields]\nphone = "Phone Number"\n'
MONDAY = datetime(2026, 3, 2, 7, 15, tzinfo=UTC)
NEXT_MONDAY = datetime(2026, 3, 9, 7, 15, tzinfo=UTC)


@pytest.fixture
def mapping_file(tmp_path: Path) -> Path:
    path = tmp_path / "weekly.toml"
    path.write_text(MAPPING, encoding="utf-8")
    return path


def test_the_fingerprint_is_a_known_sha256_of_the_header_keys() -> None:
    """Pinned: a remembered mapping must be found again by every later leadpipe, anywhere."""
    assert hashlib.sha256(b"email\x1ffirstname").hexdigest() == (
        "45dc24dfc637f9c105d0630aebca2e3788984d75731a9904dff5884ec9ab4d72"
    )
    assert header_fingerprint(("Email", "First Name")) == (
        "45dc24dfc637f9c105d0630aebca2e3788984d75731a9904dff5884ec9ab4d72"
    )


@pytest.mark.parametrize(
    "same",
    [
        ("email", "first_name", "phone_number"),
        (" EMAIL ", "first-name", "Phone number"),
        ("E-mail", "FirstName", "phone/number"),
    ],
)
def test_case_spacing_and_punctuation_do_not_change_the_fingerprint(
    same: tuple[str, ...],
) -> None:
    assert header_fingerprint(same) == header_fingerprint(HEADERS)


@pytest.mark.parametrize(
    "other",
    [
        ("First Name", "Email", "Phone Number"),  # another order
        ("Email", "First Name"),  # a column fewer
        ("Email", "First Name", "Phone Number", "Company"),  # a column more
        ("Email", "Last Name", "Phone Number"),  # another column
        ("EmailFirst", "Name", "Phone Number"),  # the same letters, split elsewhere
    ],
)
def test_order_and_set_of_headers_change_the_fingerprint(other: tuple[str, ...]) -> None:
    assert header_fingerprint(other) != header_fingerprint(HEADERS)


def test_remember_then_recall(tmp_path: Path, mapping_file: Path) -> None:
    home = tmp_path / "home"
    stored = remember_mapping(home, HEADERS, mapping_file, MONDAY)
    fingerprint = header_fingerprint(HEADERS)
    assert stored == home / "mappings" / f"{fingerprint}.toml"
    assert stored.read_text(encoding="utf-8") == MAPPING
    sidecar = json.loads((home / "mappings" / f"{fingerprint}.json").read_text())
    assert sidecar == {
        "version": 1,
        "remembered_at": "2026-03-02T07:15:00+00:00",
        "original": str(mapping_file.resolve()),
        "headers": list(HEADERS),
        "sha256": hashlib.sha256(MAPPING.encode()).hexdigest(),
    }
    assert sorted(p.name for p in (home / "mappings").iterdir()) == [
        f"{fingerprint}.json",
        f"{fingerprint}.toml",
    ]  # no partial files left behind
    recalled = recall_mapping(home, ("email", "first_name", "phone_number"))
    assert recalled == Recalled(stored, "2026-03-02T07:15:00+00:00", str(mapping_file.resolve()))


def test_the_stored_copy_outlives_the_original(tmp_path: Path, mapping_file: Path) -> None:
    home = tmp_path / "home"
    remember_mapping(home, HEADERS, mapping_file, MONDAY)
    mapping_file.write_text("# edited after the run\n", encoding="utf-8")
    recalled = recall_mapping(home, HEADERS)
    assert recalled is not None and recalled.path.read_text(encoding="utf-8") == MAPPING


def test_nothing_is_recalled_for_other_headers_or_an_empty_home(
    tmp_path: Path, mapping_file: Path
) -> None:
    home = tmp_path / "home"
    assert recall_mapping(home, HEADERS) is None
    remember_mapping(home, HEADERS, mapping_file, MONDAY)
    assert recall_mapping(home, ("Email", "First Name")) is None


def test_a_new_remember_overwrites_the_old(tmp_path: Path, mapping_file: Path) -> None:
    home = tmp_path / "home"
    remember_mapping(home, HEADERS, mapping_file, MONDAY)
    newer = tmp_path / "newer.toml"
    newer.write_text('[fields]\nphone = "Phone Number"\n', encoding="utf-8")
    stored = remember_mapping(home, ("email", "first name", "phone number"), newer, NEXT_MONDAY)
    recalled = recall_mapping(home, HEADERS)
    assert recalled == Recalled(stored, "2026-03-09T07:15:00+00:00", str(newer.resolve()))
    assert stored.read_text(encoding="utf-8") == '[fields]\nphone = "Phone Number"\n'
    assert len(list((home / "mappings").iterdir())) == 2


def _sidecar(home: Path) -> Path:
    return home / "mappings" / f"{header_fingerprint(HEADERS)}.json"


def _edit_sidecar(home: Path, **changes: object) -> None:
    data = json.loads(_sidecar(home).read_text())
    _sidecar(home).write_text(json.dumps({**data, **changes}))


def _store_broken_toml(home: Path) -> None:
    """A TOML file that does not parse, with a sidecar whose sha256 vouches for it."""
    _sidecar(home).with_suffix(".toml").write_text("fields = [", encoding="utf-8")
    _edit_sidecar(home, sha256=hashlib.sha256(b"fields = [").hexdigest())


DAMAGE: dict[str, tuple[Callable[[Path], object], str]] = {
    "sidecar not JSON": (
        lambda home: _sidecar(home).write_text("{not json"),
        "not valid JSON",
    ),
    "sidecar not UTF-8": (
        lambda home: _sidecar(home).write_bytes(b"\xff\xfe\x00"),
        "cannot read",
    ),
    "sidecar of another version": (
        lambda home: _edit_sidecar(home, version=99),
        "not a version 1 record",
    ),
    "sidecar missing a field": (
        lambda home: _sidecar(home).write_text('{"version": 1, "headers": []}'),
        "fields missing or of the wrong type",
    ),
    "sidecar headers of the wrong type": (
        lambda home: _edit_sidecar(home, headers="Email,First Name,Phone Number"),
        "fields missing or of the wrong type",
    ),
    "sidecar for other headers": (
        lambda home: _edit_sidecar(home, headers=["Email"]),
        "remembered for other headers",
    ),
    "TOML gone": (
        lambda home: _sidecar(home).with_suffix(".toml").unlink(),
        "cannot read",
    ),
    "TOML changed": (
        lambda home: _sidecar(home).with_suffix(".toml").write_text("[fields]\n"),
        "is not the file it remembered",
    ),
    "TOML not TOML, sidecar agreeing": (_store_broken_toml, "is not valid TOML"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_memory_is_ignored_with_a_warning(
    case: str, tmp_path: Path, mapping_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    remember_mapping(home, HEADERS, mapping_file, MONDAY)
    damage, reason = DAMAGE[case]
    damage(home)
    with caplog.at_level(logging.WARNING, logger="flows._memory"):
        assert recall_mapping(home, HEADERS) is None
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert reason in record.getMessage()
    assert str(_sidecar(home)) in record.getMessage()


def test_a_damaged_memory_is_replaced_by_the_next_remember(
    tmp_path: Path, mapping_file: Path
) -> None:
    home = tmp_path / "home"
    remember_mapping(home, HEADERS, mapping_file, MONDAY)
    _sidecar(home).write_text("{not json")
    stored = remember_mapping(home, HEADERS, mapping_file, NEXT_MONDAY)
    assert recall_mapping(home, HEADERS) == Recalled(
        stored, "2026-03-09T07:15:00+00:00", str(mapping_file.resolve())
    )
