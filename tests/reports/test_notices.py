"""The run's notices: what the analyst should know of the file as a whole."""

from __future__ import annotations

import pytest

from reports.notices import file_notices, share_text
from schemas.summary import MappingFacts, RegionFacts, SourceFacts

_MAPPED = MappingFacts("generic", detected=False, coverage=0.8)


def test_reading_notices_name_what_was_skipped_renamed_repaired_and_chosen() -> None:
    source = SourceFacts(
        "q.xlsx",
        "xlsx",
        sheet="Leads",
        sheets=("Notes", "Leads", "Summary"),
        preamble=("Notes:", "Export of 2026-12-01", ""),
        renamed_headers={"Create Date (2)": "Create Date"},
        repaired_headers={"TÃ©lÃ©phone": "Téléphone"},
        trailing_blank_rows=2,
    )
    assert file_notices(source, _MAPPED, None) == (
        "3 lines above the header row were skipped (the first: 'Notes:')",
        "the column name 'Create Date' repeats: the later column is read as 'Create Date (2)'",
        "the column name 'TÃ©lÃ©phone' was mis-decoded text, read as 'Téléphone'",
        "2 blank lines at the end of the file are not rows",
        "sheet 'Leads' was read (its columns map best; the others: 'Notes', 'Summary'); "
        "name another with --sheet",
    )


def test_mapping_notices_say_which_preset_why_and_warn_under_30_percent() -> None:
    source = SourceFacts("f.csv", "csv")
    hubspot = MappingFacts(
        "hubspot", detected=True, coverage=0.9, decided_by=("Record ID", "Lifecycle Stage")
    )
    assert file_notices(source, hubspot, None) == (
        "preset hubspot detected from its columns 'Record ID', 'Lifecycle Stage'",
    )
    unknown = MappingFacts("generic", detected=True, coverage=0.004)
    assert file_notices(source, unknown, None) == (
        "no system's export was recognised: columns read by their common names (preset generic)",
        "warning: only under 1% of the columns map to lead fields; choose a preset (--preset) "
        "or give a mapping (--mapping FILE)",
    )
    remembered = MappingFacts(
        "zoho", False, 0.7, mapping_file="m.toml", remembered_at="2026-11-30T07:00:00+00:00"
    )
    assert file_notices(source, remembered, None) == (
        "mapping: remembered from 2026-11-30 (m.toml); --no-memory leaves it out",
    )


def test_region_notices_say_what_was_inferred_or_that_nothing_could_be() -> None:
    source = SourceFacts("f.csv", "csv")
    inferred = RegionFacts("US", "country column", evidence=40, rows_decided=3900)
    assert file_notices(source, _MAPPED, inferred) == (
        "numbers without a country code are read as US, inferred from the file's country "
        "column (3,900 rows without a country of their own); --default-region overrides it",
    )
    nothing = RegionFacts(None, "none", rows_decided=22)
    assert file_notices(source, _MAPPED, nothing)[0].startswith(
        "warning: 22 rows have a phone but no country, and the file gives no home region"
    )
    assert file_notices(source, _MAPPED, RegionFacts("GB", "given", rows_decided=5)) == ()
    assert file_notices(source, _MAPPED, RegionFacts(None, "none")) == ()


@pytest.mark.parametrize(
    "share, said",
    [
        (0.0, "0%"),
        (0.0001, "under 1%"),
        (0.004, "under 1%"),
        (0.005, "under 1%"),  # rounds to 0% (half to even): still a part
        (0.0051, "1%"),
        (0.5, "50%"),
        (0.994, "99%"),
        (0.995, "over 99%"),  # would round to 100% though a row is missing
        (0.9999, "over 99%"),
        (1.0, "100%"),
    ],
)
def test_a_share_never_rounds_a_part_to_none_or_to_the_whole(share: float, said: str) -> None:
    assert share_text(share) == said
