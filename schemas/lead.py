"""pandera models at the stage boundaries of the canonical lead.

`NormalisedLead` is the hand-off from `normalise` to the rest of the pipe: types, vocabularies
and formats. Its failures become per-row reasons in `transforms.validate`; nothing is dropped.
"""

from __future__ import annotations

from functools import lru_cache

import pandera.polars as pa
import polars as pl
import pycountry
from pandera.api.polars.types import PolarsData

from schemas.fields import ASSIGNEE_TYPES, IDENTITY_FIELDS, STATUSES, TIMEZONE_SOURCES

E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
# After `normalise` an email is lower-case and passed email-validator; this is a cheap backstop.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


@lru_cache(maxsize=1)
def country_codes() -> tuple[str, ...]:
    """ISO 3166-1 alpha-2 codes, from pycountry."""
    return tuple(sorted(c.alpha_2 for c in pycountry.countries))


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """Every IANA name the installed tz database knows (canonical zones and links)."""
    import zoneinfo

    return tuple(sorted(zoneinfo.available_timezones()))


class NormalisedLead(pa.DataFrameModel):
    """A canonical lead after `normalise`: one row per source record."""

    source_file: str = pa.Field(description="Name of the file the row came from.")
    source_row: int = pa.Field(ge=2, unique=True, description="Spreadsheet row: header is 1.")
    target_id: str | None = pa.Field(nullable=True, description="Id in the target system.")
    external_id: str | None = pa.Field(nullable=True, description="Id in the source CRM.")
    first_name: str | None = pa.Field(nullable=True)
    middle_name: str | None = pa.Field(nullable=True)
    last_name: str | None = pa.Field(nullable=True)
    email: str | None = pa.Field(nullable=True, str_matches=EMAIL_PATTERN)
    phone: str | None = pa.Field(nullable=True, str_matches=E164_PATTERN, description="E.164.")
    phone_ext: str | None = pa.Field(nullable=True, str_matches=r"^[0-9]{1,10}$")
    country: str | None = pa.Field(nullable=True, description="ISO 3166-1 alpha-2.")
    timezone: str | None = pa.Field(nullable=True, description="Canonical IANA zone name.")
    business_name: str | None = pa.Field(nullable=True)
    website: str | None = pa.Field(nullable=True)
    status: str | None = pa.Field(nullable=True, isin=list(STATUSES))
    value: float | None = pa.Field(nullable=True)
    note: str | None = pa.Field(nullable=True)
    loss_reason: str | None = pa.Field(nullable=True)
    tags: list[str] | None = pa.Field(nullable=True)
    opted_out: bool | None = pa.Field(nullable=True)
    email_verified: bool | None = pa.Field(nullable=True)
    assignee_type: str | None = pa.Field(nullable=True, isin=list(ASSIGNEE_TYPES))
    customer_profile: str | None = pa.Field(nullable=True)
    checklist: pl.List = pa.Field(nullable=True)
    follow_up_step: int | None = pa.Field(nullable=True)
    follow_up_config: str | None = pa.Field(nullable=True, description="JSON text.")
    custom: pl.List = pa.Field(nullable=True)
    phone_raw: str | None = pa.Field(nullable=True, description="The phone as the file had it.")
    timezone_source: str = pa.Field(isin=list(TIMEZONE_SOURCES))
    status_raw: str | None = pa.Field(
        nullable=True, description="The status as the file had it, before any value mapping."
    )

    class Config:
        strict = True
        name = "normalised lead"

    @pa.check("country", name="iso_country")
    def _iso_country(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_in(country_codes()))

    @pa.check("timezone", name="iana_timezone")
    def _iana_timezone(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_in(timezone_names()))

    @pa.check("value", name="finite")
    def _finite(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_finite())

    @pa.check("follow_up_step", name="step_positive_or_stop")
    def _step(cls, data: PolarsData) -> pl.LazyFrame:
        step = pl.col(data.key)
        return data.lazyframe.select((step >= 1) | step.is_in([-1, -2]))

    @pa.dataframe_check(name="has_identity")
    def _has_identity(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.any_horizontal(pl.col(f).is_not_null() for f in IDENTITY_FIELDS)
        )
