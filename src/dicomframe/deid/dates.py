"""Shifting dates by a per-patient offset (Retain Longitudinal Temporal Info., Modified Dates).

PS3.15 E.3.6 lets dates be "modified" while the intervals between them stay
true. dicomframe moves every date of one patient by the same whole number of
days, 1 to 3,650 days into the past, derived from the salt and the patient's
original Patient ID (else Patient's Name, else Study Instance UID): every file
of the patient, de-identified with one salt in any order, moves alike, and
without the salt the offset cannot be recomputed. Whole days leave times of
day (TM) and the time part of DT values unchanged.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from dicomframe.core.vr import VR
from dicomframe.deid.uids import keyed_digest

__all__ = ["MAX_SHIFT_DAYS", "day_offset", "shift_value"]

MAX_SHIFT_DAYS = 3650


def day_offset(patient_key: str, salt: bytes) -> int:
    """The (negative) number of days every date of this patient moves by."""
    digest = keyed_digest(salt, b"date-offset", patient_key.encode("utf-8", "replace"))
    return -(1 + int.from_bytes(digest[:8], "big") % MAX_SHIFT_DAYS)


def _shift_date(text: str, days: int) -> str:
    """One YYYYMMDD date moved by ``days``; ValueError when it is no such date."""
    if len(text) != 8 or not text.isdigit():
        raise ValueError(text)
    moved = date(int(text[:4]), int(text[4:6]), int(text[6:])) + timedelta(days=days)
    return f"{moved.year:04d}{moved.month:02d}{moved.day:02d}"


def _shift_one(text: str, vr: VR, days: int) -> str:
    if not text:
        return text
    if vr is VR.DA:
        # PS3.5 6.2: a DA value may be a range "A-B" in queries; shift both ends.
        return "-".join(_shift_date(part, days) if part else "" for part in text.split("-"))
    if vr is VR.DT:
        return _shift_date(text[:8], days) + text[8:]
    return text  # TM: whole days leave the time of day as it was


def shift_value(value: Any, vr: VR, days: int) -> Any:
    """A DA, DT or TM value (one or a list) moved by ``days``.

    Raises
    ------
    ValueError
        A value is not a full date (e.g. a DT with the year only): it cannot be
        shifted exactly, and the caller replaces it by a dummy instead.
    """
    if isinstance(value, list):
        return [_shift_one(str(v), vr, days) for v in value]
    return _shift_one("" if value is None else str(value), vr, days)
