"""The naive baseline: what an analyst would write in a notebook to clean an export.

pandas reads everything as text, then a plain Python loop parses each phone with
``phonenumbers`` (region from a small country dict, falling back to US), checks
each e-mail with ``email_validator`` and each time zone with ``zoneinfo``,
catching exceptions row by row, and the result goes to parquet.

Run ``python -m benchmarks.baseline_naive INPUT OUTDIR [--limit N]``; it writes
``OUTDIR/rows.parquet`` and prints a one-line JSON summary on stdout.
``measure_baseline`` times that command in a subprocess.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import zoneinfo
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from benchmarks._measure import Measurement, run_measured

# The small lookup an analyst writes after eyeballing the Country column.
COUNTRY_TO_REGION: dict[str, str] = {
    "USA": "US",
    "United States": "US",
    "United States of America": "US",
    "U.S.": "US",
    "UK": "GB",
    "GBR": "GB",
    "United Kingdom": "GB",
    "Great Britain": "GB",
    "DEU": "DE",
    "Germany": "DE",
    "Deutschland": "DE",
    "FRA": "FR",
    "France": "FR",
    "ESP": "ES",
    "Spain": "ES",
    "España": "ES",
    "ITA": "IT",
    "Italy": "IT",
    "Italia": "IT",
    "NLD": "NL",
    "Netherlands": "NL",
    "The Netherlands": "NL",
    "Holland": "NL",
    "BRA": "BR",
    "Brazil": "BR",
    "Brasil": "BR",
    "IND": "IN",
    "India": "IN",
    "JPN": "JP",
    "Japan": "JP",
    "AUS": "AU",
    "Australia": "AU",
    "CAN": "CA",
    "Canada": "CA",
    "SWE": "SE",
    "Sweden": "SE",
    "POL": "PL",
    "Poland": "PL",
}


def region_for(country: str) -> str:
    """Country cell -> phonenumbers region: the dict, then any two-letter code, then US."""
    country = country.strip()
    if country in COUNTRY_TO_REGION:
        return COUNTRY_TO_REGION[country]
    if len(country) == 2 and country.isalpha():
        return country.upper()
    return "US"


def check_phone(phone: str, region: str) -> tuple[str | None, bool, str | None]:
    """(E.164 or None, valid?, error) for one phone cell."""
    if not phone.strip():
        return None, False, "blank"
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException as exc:
        return None, False, str(exc)
    if not phonenumbers.is_valid_number(number):
        return None, False, "invalid number"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), True, None


def check_email(email: str) -> tuple[str | None, str | None]:
    """(normalised address or None, error) for one e-mail cell."""
    if not email.strip():
        return None, "blank"
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized, None
    except EmailNotValidError as exc:
        return None, str(exc)


def check_timezone(tz: str) -> bool | None:
    """True/False for a time zone cell ``zoneinfo`` does/doesn't know; None when blank."""
    if not tz.strip():
        return None
    try:
        zoneinfo.ZoneInfo(tz.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def clean(source: Path, outdir: Path, limit: int | None = None) -> dict[str, Any]:
    """Read, check row by row, write ``outdir/rows.parquet``; return a small summary."""
    frame = pd.read_csv(source, dtype=str, keep_default_na=False, nrows=limit)
    results: list[dict[str, Any]] = []
    for row in frame.to_dict("records"):
        phone, phone_ok, phone_error = check_phone(
            row["Phone Number"], region_for(row["Country/Region"])
        )
        email, email_error = check_email(row["Email"])
        results.append(
            {
                "phone_e164": phone,
                "phone_valid": phone_ok,
                "phone_error": phone_error,
                "email_normalized": email,
                "email_error": email_error,
                "timezone_valid": check_timezone(row["Time Zone"]),
            }
        )
    cleaned = pd.concat([frame, pd.DataFrame(results, index=frame.index)], axis=1)
    outdir.mkdir(parents=True, exist_ok=True)
    cleaned.to_parquet(outdir / "rows.parquet", index=False)
    return {
        "rows": len(cleaned),
        "phone_valid": int(cleaned["phone_valid"].sum()),
        "email_valid": int(cleaned["email_normalized"].notna().sum()),
        "timezone_valid": int((cleaned["timezone_valid"] == True).sum()),  # noqa: E712
    }


def measure_baseline(source: Path, rows: int, sample_rows: int | None = None) -> Measurement:
    """Time the baseline on ``source`` in a subprocess; extrapolate when sampling.

    With ``sample_rows`` below ``rows`` only the first ``sample_rows`` rows are
    processed and the time is scaled linearly to ``rows`` (peak RSS is the sample's).
    """
    processed = rows if sample_rows is None or sample_rows >= rows else sample_rows
    with tempfile.TemporaryDirectory(prefix="leadpipe-bench-baseline-") as tmp:
        command = [sys.executable, "-m", "benchmarks.baseline_naive", str(source), tmp]
        if processed < rows:
            command += ["--limit", str(processed)]
        run = run_measured(command)
    note = ""
    seconds = run.seconds
    if processed < rows:
        seconds = run.seconds * rows / processed
        note = f"extrapolated from {processed:,} rows (RSS of the sample)"
    if run.returncode != 0:
        note = f"failed (exit {run.returncode}): {run.stderr_tail()}"
    return Measurement(
        name="naive baseline (pandas loop)",
        rows=rows,
        seconds=seconds,
        peak_rss_mb=run.peak_rss_mb,
        ok=run.returncode == 0,
        note=note,
        extra=run.json_stdout() or {},
    )


def extrapolate(measured: Measurement, rows: int) -> Measurement:
    """The baseline at ``rows``, scaled linearly from a run on fewer rows (no new run: the
    baseline is one Python call per row, so its cost is linear; peak RSS is the smaller run's)."""
    return replace(
        measured,
        rows=rows,
        seconds=measured.seconds * rows / measured.rows,
        note=measured.note or f"extrapolated from the {measured.rows:,}-row run (its RSS)",
        extra={},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--limit", type=int, default=None, help="process only the first N rows")
    args = parser.parse_args()
    print(json.dumps(clean(args.source, args.outdir, args.limit)))


if __name__ == "__main__":
    main()
