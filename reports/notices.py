"""What the analyst should know of the file as a whole, in sentences: the run's notices.

Per-row notes are the report's `warnings`; these are the file's: lines skipped above the
header, headers renamed or repaired, the sheet read, the preset and why, a low share of
mapped columns, a remembered mapping, and the region numbers without a country code are read
in. The terminal, summary.json (`notices`) and report.html show them as written here.

    >>> from schemas.summary import MappingFacts, SourceFacts
    >>> for notice in file_notices(
    ...     SourceFacts("f.csv", "csv", preamble=("Notes:", "")),
    ...     MappingFacts("linkedin", True, 0.71, decided_by=("Connected On",)),
    ...     None,
    ... ):
    ...     print(notice)
    2 lines above the header row were skipped (the first: 'Notes:')
    preset linkedin detected from its column 'Connected On'
"""

from __future__ import annotations

from schemas.summary import MappingFacts, RegionFacts, SourceFacts

__all__ = ["LOW_COVERAGE", "file_notices", "share_text"]

# Under this share of mapped columns the preset is probably wrong: say so.
LOW_COVERAGE = 0.3


def file_notices(
    source: SourceFacts, mapping: MappingFacts, region: RegionFacts | None
) -> tuple[str, ...]:
    """The notices of one file (see the module docstring), in the order a reader meets them."""
    return (*_reading(source), *_mapping(mapping), *_region(region))


def _reading(source: SourceFacts) -> list[str]:
    said = []
    if source.preamble:
        first = next((line for line in source.preamble if line.strip()), "")
        lines = _count(len(source.preamble), "line")
        said.append(f"{lines} above the header row were skipped (the first: {first[:60]!r})")
    for new, old in source.renamed_headers.items():
        if new == f"{old} (file)":  # a name the reader gives a column of its own
            said.append(f"the column name {old!r} is leadpipe's own: the file's is read as {new!r}")
        else:
            said.append(f"the column name {old!r} repeats: the later column is read as {new!r}")
    for old, new in source.repaired_headers.items():
        said.append(f"the column name {old!r} was mis-decoded text, read as {new!r}")
    if source.trailing_blank_rows:
        blank = _count(source.trailing_blank_rows, "blank line")
        said.append(f"{blank} at the end of the file are not rows")
    if len(source.sheets) > 1 and source.sheet:
        others = ", ".join(repr(s) for s in source.sheets if s != source.sheet)
        said.append(
            f"sheet {source.sheet!r} was read (its columns map best; the others: {others}); "
            "name another with --sheet"
        )
    return said


def _mapping(mapping: MappingFacts) -> list[str]:
    said = []
    if mapping.remembered_at:
        said.append(
            f"mapping: remembered from {mapping.remembered_at[:10]} ({mapping.mapping_file}); "
            "--no-memory leaves it out"
        )
    if mapping.detected and mapping.decided_by:
        columns = ", ".join(repr(h) for h in mapping.decided_by[:4])
        its = "its column" if len(mapping.decided_by) == 1 else "its columns"
        said.append(f"preset {mapping.preset} detected from {its} {columns}")
    elif mapping.detected:
        said.append(
            f"no system's export was recognised: columns read by their common names "
            f"(preset {mapping.preset})"
        )
    if mapping.coverage < LOW_COVERAGE:
        said.append(
            f"warning: only {share_text(mapping.coverage)} of the columns map to lead fields; "
            "choose a preset (--preset) or give a mapping (--mapping FILE)"
        )
    return said


def _region(region: RegionFacts | None) -> list[str]:
    if region is None or region.basis == "given":
        return []
    rows = _count(region.rows_decided, "row")
    if region.region is None:
        if not region.rows_decided:
            return []
        return [
            f"warning: {rows} have a phone but no country, and the file gives no home region: "
            "numbers without a country code cannot be read; set --default-region (e.g. US)"
        ]
    return [
        f"numbers without a country code are read as {region.region}, inferred from the "
        f"file's {region.basis} ({rows} without a country of their own); "
        "--default-region overrides it"
    ]


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def share_text(share: float) -> str:
    """A share as a whole percentage that never rounds a part to the ends: a non-zero share
    never reads 0% (`under 1%`), nor a share short of the whole 100% (`over 99%`). Every
    percentage in `reports` (the page's tiles and durations, the notices) goes through here.

    >>> share_text(0.004), share_text(0.5), share_text(0.996), share_text(1.0), share_text(0)
    ('under 1%', '50%', 'over 99%', '100%', '0%')
    """
    said = f"{share:.0%}"
    if share > 0 and said == "0%":
        return "under 1%"
    if share < 1 and said == "100%":
        return "over 99%"
    return said
