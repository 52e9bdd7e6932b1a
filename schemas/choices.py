"""The words a run's options may take, as types: the options and the CLI check them, the
stages act on them.

This module imports nothing (not polars, not pandera): `flows.options`, and with it
`leadpipe --help`, takes these names from here instead of from the stages that use them.
`transforms.dedupe`, `transforms.diff` and `transforms.plan` take them from here too.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["Blanks", "DuplicatePolicy", "Mode", "OnTargetEdit"]

# Which row of a duplicate group `dedupe` keeps (or rejects them all).
DuplicatePolicy = Literal["first", "last", "reject"]
# What a blank cell does to a field the target has: nothing, or clear it (`diff`).
Blanks = Literal["leave", "clear"]
# A field changed only in the target: keep it, or let the file win (`diff`).
OnTargetEdit = Literal["keep", "overwrite"]
# What a plan may do: create and update, update only, or create only (`plan`).
Mode = Literal["upsert", "update", "create"]
