"""Private attributes: the Basic Profile removes them, Retain Safe Private keeps the safe ones.

PS3.15 E.3.10: private attributes known to hold no identifying information
may be kept. dicomframe knows an element is safe from two sources, never by
guessing:

- the dataset itself: a Private Data Element Characteristics Sequence
  (0008,0300) item for the block (Private Group Reference, Private Creator
  Reference) whose Block Identifying Information Status is ``SAFE`` (every
  element of the block), or ``MIXED`` with the element listed in
  Nonidentifying Private Elements (0008,0304);
- the caller: ``safe_private``, a set of ``(group, creator, element)`` with
  ``element`` the low byte of the tag (as PS3.15 Table E.3.10-1 lists them),
  e.g. ``{(0x0019, "SIEMENS MR HEADER", 0x0C)}``. dicomframe ships no copy of
  that table: no machine-readable edition of it was found.

A private creator element is kept when any element of its block is.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field

from dicomframe.core.dataset import Dataset
from dicomframe.core.tag import Tag

__all__ = ["PrivateRule", "SafeKey"]

SafeKey = tuple[int, str, int]  # (group, creator, low byte of the element)


@dataclass(frozen=True)
class PrivateRule:
    """Which private elements of one dataset (one item) are kept.

    Parameters
    ----------
    retain
        Retain Safe Private is in force; False removes every private element.
    safe
        The caller's list of safe elements.
    """

    retain: bool = False
    safe: Set[SafeKey] = field(default_factory=frozenset)

    def kept_tags(self, ds: Dataset) -> set[Tag]:
        """The private tags of ``ds`` (not of its items) to keep, creators included."""
        if not self.retain:
            return set()
        creators = {
            (t.group, t.element): str(ds[t].value or "").strip()
            for t in ds.tags()
            if t.is_private_creator
        }
        declared = _declared(ds)
        kept: set[Tag] = set()
        for tag in ds.tags():
            if not tag.is_private or tag.is_private_creator or (tag.element >> 8) < 0x10:
                continue
            creator = creators.get((tag.group, tag.element >> 8))
            if creator is None:
                continue  # an element without its reservation cannot be judged
            key = (tag.group, creator, tag.element & 0xFF)
            if key in self.safe or _declared_safe(declared, key):
                kept.add(tag)
                kept.add(Tag(tag.group, tag.element >> 8))
        return kept


def _declared(ds: Dataset) -> dict[tuple[int, str], tuple[str, frozenset[int]]]:
    """(group, creator) -> (status, non-identifying element bytes) from (0008,0300)."""
    found: dict[tuple[int, str], tuple[str, frozenset[int]]] = {}
    for item in ds.get(0x00080300) or ():
        group, creator = item.get(0x00080301), item.get(0x00080302)
        if not isinstance(group, int) or not creator:
            continue
        elements = item.get(0x00080304)
        listed = elements if isinstance(elements, list) else [elements]
        status = str(item.get(0x00080303) or "").strip().upper()
        found[group, str(creator).strip()] = (
            status,
            frozenset(e & 0xFF for e in listed if isinstance(e, int)),
        )
    return found


def _declared_safe(
    declared: dict[tuple[int, str], tuple[str, frozenset[int]]], key: SafeKey
) -> bool:
    status, listed = declared.get((key[0], key[1]), ("", frozenset()))
    return status == "SAFE" or (status == "MIXED" and key[2] in listed)
