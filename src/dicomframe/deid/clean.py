"""Cleaning free text (action C on descriptors): removing the identifiers the dataset holds.

PS3.15 E.3.5 asks that a cleaned descriptor keep its meaning and lose any
identifying information. No program can find every identifier in free text,
so dicomframe removes the ones it can know: before any action, it gathers the
values of the attributes the profile removes or replaces (names, IDs, dates,
institution, addresses..., and each part of a person name), and a cleaned text
has every occurrence of them, in any letter case, overwritten by ``*`` (same
length, so a value never outgrows its VR). A caller with a better cleaner
passes it as ``cleaner=``; it is called with each text value and returns the
cleaned text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from dicomframe.core.vr import VR

__all__ = ["IDENTIFYING_VRS", "MIN_LENGTH", "Scrubber", "words_of"]

# The VRs whose values can name or date someone; CS and numbers are coded, not free.
IDENTIFYING_VRS = frozenset({
    VR.AE, VR.DA, VR.DT, VR.LO, VR.LT, VR.PN, VR.SH, VR.ST, VR.UC, VR.UT
})  # fmt: skip
MIN_LENGTH = 3  # shorter pieces ("M", "Dr") would blank ordinary words


def words_of(value: object, vr: VR) -> list[str]:
    """The pieces of one value worth looking for: the value, and a name's components."""
    text = str(value).strip(" \0")
    pieces = [text]
    if vr is VR.PN:
        pieces += re.split(r"[\^=\s]+", text)
    return [p for p in pieces if len(p.strip()) >= MIN_LENGTH]


class Scrubber:
    """A cleaner that overwrites known identifiers in text with ``*``."""

    def __init__(self, identifiers: Iterable[str]) -> None:
        unique = sorted({i.strip() for i in identifiers if len(i.strip()) >= MIN_LENGTH}, key=len)
        self.identifiers = tuple(reversed(unique))  # longest first, so a name beats its parts
        self._pattern = (
            re.compile("|".join(re.escape(i) for i in self.identifiers), re.IGNORECASE)
            if self.identifiers
            else None
        )

    def __call__(self, text: str) -> str:
        """``text`` with every known identifier overwritten."""
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: "*" * len(m.group()), text)
