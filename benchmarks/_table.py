"""The one results table of `make bench`: a row type every part fills, and the rich table.

Each measured part (one module per thing measured) returns a result with ``ok``,
``table_rows()`` and ``caption()``; `__main__` lays their rows out one section per part.
A row with a goal says it three times: the goal, the measured figure, and whether it is met.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from rich.table import Table

__all__ = ["COLUMNS", "PartResult", "Row", "build_table", "goal_tally", "mb", "stage_rows"]

COLUMNS = ("rows", "seconds", "rate/s", "peak RSS (MB)", "measured", "goal", "met?")


@dataclass(frozen=True)
class Row:
    """One line of the table; empty cells stay blank."""

    what: str
    rows: int | None = None
    seconds: float | None = None
    rate: float | None = None  # rows/s, or requests/s where the note says so
    peak_mb: float | None = None
    measured: str = ""  # the figure the goal is about: a ratio, a count, a share
    goal: str = ""
    met: bool | None = None  # None: the row has no goal
    note: str = ""
    failed: bool = False

    def cells(self) -> tuple[str, ...]:
        if self.failed:
            seconds = "failed"
        else:
            seconds = "" if self.seconds is None else f"{self.seconds:,.1f}"
        met = {None: "", True: "[green]yes[/]", False: "[red]NO[/]"}[self.met]
        return (
            self.what,
            "" if self.rows is None else f"{self.rows:,}",
            seconds,
            "" if self.rate is None or self.rate != self.rate else f"{self.rate:,.0f}",
            mb(self.peak_mb),
            self.measured,
            self.goal,
            met,
            self.note,
        )


class PartResult(Protocol):
    """What every benchmark part returns."""

    @property
    def ok(self) -> bool: ...

    def table_rows(self) -> list[Row]: ...

    def caption(self) -> list[str]: ...


def stage_rows(rows: int, durations: Mapping[str, float], memory: Mapping[str, float]) -> list[Row]:
    """`  └ stage X` lines: seconds, rows/s and peak RSS (MB) of the leadpipe process."""
    return [
        Row(
            f"  └ stage {stage}",
            seconds=seconds,
            rate=rows / seconds if seconds > 0 else None,
            peak_mb=memory.get(stage),
        )
        for stage, seconds in durations.items()
    ]


def mb(value: float | None) -> str:
    return "" if value is None or value != value else f"{value:,.0f}"


def goal_tally(sections: Sequence[Sequence[Row]]) -> tuple[int, int]:
    """(goals met, goals measured) over every row."""
    goals = [row.met for rows in sections for row in rows if row.met is not None]
    return sum(goals), len(goals)


def build_table(title: str, sections: Sequence[Sequence[Row]], caption: Sequence[str]) -> Table:
    table = Table(title=title, caption="\n".join(caption), caption_justify="left")
    table.add_column("measurement", no_wrap=True)
    for column in COLUMNS:
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("note")
    for rows in sections:
        for row in rows:
            table.add_row(*row.cells())
        table.add_section()
    return table
