"""Any canonical value as the text people read: lists joined, structs as JSON."""

from __future__ import annotations

import polars as pl

__all__ = ["as_text"]


def as_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """`[a, b]` -> `a, b`, entries -> JSON, numbers and booleans -> text."""
    if dtype == pl.List(pl.String):
        return expr.list.join(", ")
    if isinstance(dtype, pl.List):
        return pl.lit("[") + expr.list.eval(pl.element().struct.json_encode()).list.join(",") + "]"
    if dtype == pl.String:
        return expr
    return expr.cast(pl.String)
