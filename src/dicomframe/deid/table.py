"""Table E.1-1 as rules: which action the profile and its options take on each attribute.

The rows live as text in the generated :mod:`dicomframe.deid._table` and are
parsed on first use. A rule answers one question, :meth:`Rule.action`: given
the options in force, which action code of Table E.1-1 applies. The code may
still be a combination (``X/Z/D``); :func:`dicomframe.deid.actions.resolve`
turns it into one action for an element of a given VR.

When several chosen options name an action for one attribute, the most
protective wins (X over Z over D over U over C over K): Allergies are C under
both Retain Patient Characteristics and Clean Descriptors, and the Referenced
Patient Sequence stays X under Retain UIDs.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dicomframe.deid.options import OPTION_FACTS, Option

__all__ = ["Rule", "rule_for", "rules"]

# Most protective first.
_PROTECTION = {"X": 0, "Z": 1, "D": 2, "U": 3, "C": 4, "K": 5}


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of Table E.1-1.

    Attributes
    ----------
    tag
        The tag, or for a repeating group the value ``tag & mask`` must equal.
    mask
        ``0xFFFFFFFF`` for one attribute; e.g. ``0xFF00FFFF`` for (60xx,3000).
    basic
        The Basic Profile action code, e.g. ``"X/Z/D"``.
    options
        Option column letter -> action code, for the columns with an entry.
    """

    tag: int
    mask: int
    basic: str
    options: Mapping[str, str]

    def action(self, options: Iterable[Option] = ()) -> str:
        """The action code in force with ``options``: an option's entry replaces the basic one."""
        chosen = [
            self.options[column]
            for column in (OPTION_FACTS[o].column for o in options)
            if column and column in self.options
        ]
        return min(chosen, key=_PROTECTION.__getitem__) if chosen else self.basic

    @property
    def is_pattern(self) -> bool:
        """True for a repeating-group row such as (50xx,xxxx)."""
        return self.mask != 0xFFFFFFFF


@functools.cache
def rules() -> tuple[Rule, ...]:
    """Every row, parsed once."""
    from dicomframe.deid._table import TABLE

    parsed = []
    for line in TABLE.split("\n"):
        if not line:
            continue
        key, basic, *extra = line.split(" ")
        tag, _, mask = key.partition("/")
        options = dict(item.split(":") for item in extra)
        parsed.append(Rule(int(tag, 16), int(mask or "FFFFFFFF", 16), basic, options))
    return tuple(parsed)


@functools.cache
def _index() -> tuple[dict[int, Rule], tuple[Rule, ...]]:
    exact = {r.tag: r for r in rules() if not r.is_pattern}
    return exact, tuple(r for r in rules() if r.is_pattern)


def rule_for(tag: int) -> Rule | None:
    """The row that covers ``tag``, or None when the table does not list it (keep it)."""
    exact, patterns = _index()
    rule = exact.get(tag)
    if rule is not None:
        return rule
    return next((r for r in patterns if tag & r.mask == r.tag), None)
