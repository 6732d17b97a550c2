"""Private data elements: creators, blocks, dictionary names, removal.

PS3.5 7.8.1: an odd group ``gggg`` (0009-FFFD; 0001-0007 and FFFF are not
private) holds private data elements. A Private Creator element
``(gggg,00bb)`` (``bb`` 10-FF) reserves the block ``(gggg,bb00-bbFF)`` for the
creator its value names, so the same private element sits at a different tag
in different files: ``(0019,100C)`` in one, ``(0019,200C)`` in another. Code
that reads or writes a private element asks for it by creator and offset
through a :class:`PrivateBlock`, as pydicom's ``Dataset.private_block`` does.

:func:`remove_private` removes every element of an odd group at every depth;
:func:`creator_for` and :func:`private_entry` name a private element from the
dataset that holds it (the private dictionary is keyed by creator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from dicomframe.core.tag import Tag
from dicomframe.core.vr import VR
from dicomframe.core.walk import Walkable, walk_datasets

if TYPE_CHECKING:
    from dicomframe.core.dictionary import PrivateEntry
    from dicomframe.core.element import DataElement
    from dicomframe.core.walk import Path

__all__ = [
    "PrivateBlock",
    "PrivateDataset",
    "creator_for",
    "creator_tag",
    "private_block",
    "private_entry",
    "remove_private",
]

_FIRST_BLOCK, _LAST_BLOCK = 0x10, 0xFF


class PrivateDataset(Walkable, Protocol):
    """What private blocks need of a dataset (a :class:`~dicomframe.Dataset` is one)."""

    def get(self, key: int, default: Any = None) -> Any:
        """The value of ``key``, or ``default``."""
        ...

    def set(self, key: int, value: Any, vr: VR | str | None = None) -> DataElement:
        """Set a value, creating the element."""
        ...


def creator_tag(tag: int) -> int | None:
    """The tag of the Private Creator that reserves ``tag``'s block, or None.

    None for tags that are not private data elements: even groups, groups
    0001-0007 and FFFF, the creators themselves and ``(gggg,0000-00FF)``.
    """
    tag = Tag(tag)
    block = tag.element >> 8
    if not tag.is_private or block < _FIRST_BLOCK:
        return None
    return (tag.group << 16) | block


def creator_for(ds: PrivateDataset, tag: int) -> str | None:
    """The private creator of ``tag`` in ``ds`` (the dataset that holds it), or None.

    Surrounding spaces of the creator's LO value are dropped; a creator that
    is missing, empty or not text gives None.
    """
    at = creator_tag(tag)
    return None if at is None else _creator_value(ds, at)


def _creator_value(ds: PrivateDataset, at: int) -> str | None:
    """The value of the Private Creator element ``at``, stripped; None if unusable."""
    value = ds.get(at)
    if isinstance(value, list):  # a creator written with VM > 1: PS3.5 says one value
        value = value[0] if value else None
    if not isinstance(value, str) or not value.strip(" \0"):
        return None
    return value.strip(" \0")


def private_entry(ds: PrivateDataset, tag: int) -> PrivateEntry | None:
    """The private dictionary's entry for ``tag`` in ``ds``, found by its creator."""
    creator = creator_for(ds, tag)
    if creator is None:
        return None
    from dicomframe.core.dictionary import private_lookup

    return private_lookup(creator, tag)


def _check_group(group: int) -> None:
    if not isinstance(group, int) or not 0 <= group <= 0xFFFF:
        raise ValueError(f"group must be an int 0x0000-0xFFFF, not {group!r}")
    if not Tag(group << 16).is_private:
        raise ValueError(
            f"group {group:04X} is not private: private groups are odd, 0009-FFFD (PS3.5 7.8.1)"
        )


@dataclass(frozen=True, slots=True)
class PrivateBlock:
    """The elements one private creator holds in one group of one dataset.

    Elements are addressed by their offset in the block (0x00-0xFF): offset
    0x0C of the block reserved at ``(0019,0010)`` is ``(0019,100C)``.

    Attributes
    ----------
    group
        The (odd) group.
    creator
        The private creator's value.
    dataset
        The dataset holding the block.
    block_start
        The first element number of the block, e.g. ``0x1000``.
    """

    group: int
    creator: str
    dataset: PrivateDataset
    block_start: int

    def tag(self, offset: int) -> Tag:
        """The tag of the element at ``offset`` in this block."""
        if not isinstance(offset, int) or not 0 <= offset <= 0xFF:
            raise ValueError(f"element offset must be 0x00-0xFF, not {offset!r}")
        return Tag((self.group << 16) | self.block_start | offset)

    def __contains__(self, offset: int) -> bool:
        return self.tag(offset) in self.dataset

    def __getitem__(self, offset: int) -> DataElement:
        return self.dataset[self.tag(offset)]

    def __delitem__(self, offset: int) -> None:
        del self.dataset[self.tag(offset)]

    def add_new(self, offset: int, vr: VR | str, value: Any) -> DataElement:
        """Add (or replace) the element at ``offset`` with ``vr`` and ``value``."""
        tag = self.tag(offset)
        if tag in self.dataset:
            del self.dataset[tag]  # a new element, as pydicom's add_new, whatever its old VR
        return self.dataset.set(tag, value, vr)

    def elements(self) -> list[DataElement]:
        """The elements present in the block, in tag order."""
        first = (self.group << 16) | self.block_start
        return [e for e in self.dataset.elements() if first <= e.tag <= first + 0xFF]

    def entry(self, offset: int) -> PrivateEntry | None:
        """The private dictionary's entry for the element at ``offset`` (present or not)."""
        from dicomframe.core.dictionary import private_lookup

        return private_lookup(self.creator, self.tag(offset))


def private_block(
    ds: PrivateDataset, group: int, creator: str, *, create: bool = False
) -> PrivateBlock:
    """The block ``creator`` holds in ``group`` of ``ds``; with ``create``, reserve one.

    Parameters
    ----------
    ds
        The dataset (the top one, or a sequence item).
    group
        An odd group, 0009-FFFD.
    creator
        The private creator; compared with the creators present after
        dropping surrounding spaces.
    create
        When no block of ``creator`` exists, reserve the first free
        ``(group,0010-00FF)`` for it (a new LO Private Creator element).

    Raises
    ------
    ValueError
        ``group`` is not private, ``creator`` is empty, or every block of the
        group is taken.
    KeyError
        ``creator`` holds no block in ``group`` and ``create`` is false.
    """
    _check_group(group)
    if not isinstance(creator, str) or not creator.strip(" \0"):
        raise ValueError(f"a private creator must be non-empty text, not {creator!r}")
    wanted = creator.strip(" \0")
    free = None
    for block in range(_FIRST_BLOCK, _LAST_BLOCK + 1):
        at = (group << 16) | block
        if at not in ds:
            free = block if free is None else free
            continue
        if _creator_value(ds, at) == wanted:
            return PrivateBlock(group, wanted, ds, block << 8)
    if not create:
        raise KeyError(f"private creator {wanted!r} holds no block in group {group:04X}")
    if free is None:
        raise ValueError(f"group {group:04X} has no free private block (0010-00FF all taken)")
    ds.set((group << 16) | free, wanted, VR.LO)
    return PrivateBlock(group, wanted, ds, free << 8)


def remove_private(ds: PrivateDataset) -> list[tuple[Path, DataElement]]:
    """Remove every element of an odd group, at every depth; return what was removed.

    Creators, private data elements, odd-group lengths and elements of the
    odd groups PS3.5 forbids (0001-0007, FFFF) all go. A private sequence is
    removed whole and listed once: its items are not walked.

    Returns
    -------
    list of (path, element)
        Each removed element with the path of the dataset that held it, in
        walk order; ``len()`` of it is how many were removed.
    """
    removed: list[tuple[Path, DataElement]] = []
    for path, dataset, element in walk_datasets(ds):
        if element.tag >> 16 & 1:
            del dataset[element.tag]
            removed.append((path, element))
    return removed
