"""The options of the Basic Application Level Confidentiality Profile and their codes.

PS3.15 E.3 defines each option as a column of Table E.1-1; PS3.16 CID 7050
gives each a code that the de-identified instance lists in De-identification
Method Code Sequence, after 113100 for the profile itself. An option is named
here by a kebab-case word (``"retain-uids"``), the form the command line takes;
:func:`parse_options` also accepts the :class:`Option` members, snake_case and
any letter case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["BASIC_PROFILE", "OPTION_FACTS", "Code", "Option", "OptionFacts", "parse_options"]


@dataclass(frozen=True, slots=True)
class Code:
    """A coded concept: value, scheme and meaning (the Code Sequence macro)."""

    value: str
    scheme: str
    meaning: str


class Option(StrEnum):
    """The profile options of PS3.15 E.3 that act on attributes."""

    RETAIN_SAFE_PRIVATE = "retain-safe-private"
    RETAIN_UIDS = "retain-uids"
    RETAIN_DEVICE_IDENTITY = "retain-device-identity"
    RETAIN_INSTITUTION_IDENTITY = "retain-institution-identity"
    RETAIN_PATIENT_CHARACTERISTICS = "retain-patient-characteristics"
    RETAIN_LONGITUDINAL_FULL_DATES = "retain-longitudinal-full-dates"
    RETAIN_LONGITUDINAL_MODIFIED_DATES = "retain-longitudinal-modified-dates"
    CLEAN_DESCRIPTORS = "clean-descriptors"
    CLEAN_STRUCTURED_CONTENT = "clean-structured-content"
    CLEAN_GRAPHICS = "clean-graphics"


@dataclass(frozen=True, slots=True)
class OptionFacts:
    """What the standard says of one option.

    ``column`` is the option's letter in :mod:`dicomframe.deid._table` (empty
    for Retain Safe Private, which acts through the private rule, not rows).
    """

    column: str
    code: Code


BASIC_PROFILE = Code("113100", "DCM", "Basic Application Confidentiality Profile")


def _dcm(value: str, meaning: str) -> Code:
    return Code(value, "DCM", meaning)


# PS3.16 CID 7050 "De-identification Method".
OPTION_FACTS: dict[Option, OptionFacts] = {
    Option.RETAIN_SAFE_PRIVATE: OptionFacts("", _dcm("113111", "Retain Safe Private Option")),
    Option.RETAIN_UIDS: OptionFacts("U", _dcm("113110", "Retain UIDs Option")),
    Option.RETAIN_DEVICE_IDENTITY: OptionFacts(
        "V", _dcm("113109", "Retain Device Identity Option")
    ),
    Option.RETAIN_INSTITUTION_IDENTITY: OptionFacts(
        "I", _dcm("113112", "Retain Institution Identity Option")
    ),
    Option.RETAIN_PATIENT_CHARACTERISTICS: OptionFacts(
        "P", _dcm("113108", "Retain Patient Characteristics Option")
    ),
    Option.RETAIN_LONGITUDINAL_FULL_DATES: OptionFacts(
        "F", _dcm("113106", "Retain Longitudinal Temporal Information Full Dates Option")
    ),
    Option.RETAIN_LONGITUDINAL_MODIFIED_DATES: OptionFacts(
        "M", _dcm("113107", "Retain Longitudinal Temporal Information Modified Dates Option")
    ),
    Option.CLEAN_DESCRIPTORS: OptionFacts("D", _dcm("113105", "Clean Descriptors Option")),
    Option.CLEAN_STRUCTURED_CONTENT: OptionFacts(
        "S", _dcm("113104", "Clean Structured Content Option")
    ),
    Option.CLEAN_GRAPHICS: OptionFacts("G", _dcm("113103", "Clean Graphics Option")),
}


def parse_options(options: Iterable[str | Option]) -> frozenset[Option]:
    """Turn option names into :class:`Option` members, checking they can go together.

    Raises
    ------
    ValueError
        A name is no option (the message lists them all), or both Retain
        Longitudinal Temporal Information options are asked for: one keeps
        dates, the other shifts them.
    """
    if isinstance(options, str):
        options = (options,)  # one name, not its letters
    chosen: set[Option] = set()
    for name in options:
        text = str(name).strip().lower().replace("_", "-")
        try:
            chosen.add(Option(text))
        except ValueError:
            known = ", ".join(o.value for o in Option)
            raise ValueError(f"unknown de-identification option {name!r}; known: {known}") from None
    both = {Option.RETAIN_LONGITUDINAL_FULL_DATES, Option.RETAIN_LONGITUDINAL_MODIFIED_DATES}
    if both <= chosen:
        raise ValueError(
            "retain-longitudinal-full-dates and retain-longitudinal-modified-dates exclude each "
            "other: choose one"
        )
    return frozenset(chosen)
