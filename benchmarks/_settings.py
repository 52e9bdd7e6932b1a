"""What `make bench` measures and at which sizes, read once from the environment.

``BENCH_ROWS`` (default 1,000,000) is the largest `check`; every other size follows it in
proportion (``scaled``), so ``BENCH_ROWS=20000 make bench`` is a quick smoke run of every row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

FULL_ROWS = 1_000_000
SMALL_ROWS = 100_000


@dataclass(frozen=True)
class Settings:
    """Sizes and budgets of one benchmark run (see benchmarks/__main__.py for the variables)."""

    rows: int
    seed: int
    baseline_budget_s: float
    baseline_sample: int
    phone_values: int
    import_rows: int
    bare_sample: int
    warm_check: bool = False
    check_10m: bool = False  # BENCH_CHECK_10M=1: also `check` 10 x BENCH_ROWS (~3.5 min)

    @classmethod
    def from_env(cls) -> Settings:
        rows = int(os.environ.get("BENCH_ROWS", str(FULL_ROWS)))

        def knob(name: str, full: int) -> int:
            return int(os.environ.get(name, str(scaled(full, rows))))

        return cls(
            rows=rows,
            seed=int(os.environ.get("BENCH_SEED", "7")),
            baseline_budget_s=float(os.environ.get("BENCH_BASELINE_BUDGET", "60")),
            baseline_sample=knob("BENCH_BASELINE_SAMPLE", SMALL_ROWS),
            phone_values=knob("BENCH_PHONE_VALUES", 100_000),
            import_rows=knob("BENCH_IMPORT_ROWS", 100_000),
            bare_sample=knob("BENCH_BARE_SAMPLE", 10_000),
            warm_check=os.environ.get("BENCH_WARM_CHECK", "") not in ("", "0"),
            check_10m=os.environ.get("BENCH_CHECK_10M", "") not in ("", "0"),
        )

    @property
    def sizes(self) -> list[int]:
        """The `check` sizes: 100k and BENCH_ROWS, or BENCH_ROWS alone when it is not larger."""
        return [SMALL_ROWS, self.rows] if self.rows > SMALL_ROWS else [self.rows]

    def scaled(self, full: int, floor: int = 1_000) -> int:
        """`full` (the size at BENCH_ROWS=1,000,000) in proportion to this run's BENCH_ROWS."""
        return scaled(full, self.rows, floor)


def scaled(full: int, rows: int, floor: int = 1_000) -> int:
    return max(floor, full * rows // FULL_ROWS)
