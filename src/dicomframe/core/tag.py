"""DICOM tags: a 32-bit ``(group, element)`` pair that behaves as an int.

A :class:`Tag` sorts, hashes and compares like the int ``0xGGGGEEEE`` so
datasets can key on plain ints and tags interchangeably; it only adds the
accessors and the ``(GGGG,EEEE)`` text form that DICOM tools print.
"""

from __future__ import annotations

import operator
from typing import SupportsIndex

from dicomframe.core.lazyre import LazyPattern

__all__ = ["ITEM", "ITEM_DELIMITER", "SEQUENCE_DELIMITER", "Tag"]

_TEXT = LazyPattern(r"^\(?\s*([0-9A-Fa-f]{4})\s*,?\s*([0-9A-Fa-f]{4})\s*\)?$")


class Tag(int):
    """A DICOM tag.

    ``Tag(0x00100010)``, ``Tag(0x0010, 0x0010)`` and ``Tag("(0010,0010)")``
    are the same tag. Keywords are resolved by
    :func:`dicomframe.core.dictionary.tag_for_keyword`, not here, so this
    module stays free of the dictionary.
    """

    __slots__ = ()

    def __new__(
        cls, value: SupportsIndex | str | tuple[int, int], element: int | None = None
    ) -> Tag:
        """Build a tag from an int, a ``(group, element)`` pair or ``"(GGGG,EEEE)"`` text."""
        if element is not None:
            # operator.index, not int(): 1.5 or "0010" (decimal 10) would be silently wrong.
            group, element = operator.index(value), operator.index(element)  # type: ignore[arg-type]
            number = (group << 16) | element
            if not (0 <= group <= 0xFFFF and 0 <= element <= 0xFFFF):
                raise ValueError(f"tag parts out of range: ({group:#x}, {element:#x})")
        elif isinstance(value, tuple):
            if len(value) != 2:
                raise ValueError(f"a tag pair needs (group, element), not {value!r}")
            return cls(value[0], value[1])
        elif isinstance(value, str):
            match = _TEXT.match(value.strip())
            if match is None:
                raise ValueError(f"not a tag: {value!r}")
            number = (int(match.group(1), 16) << 16) | int(match.group(2), 16)
        else:
            number = operator.index(value)
        if not 0 <= number <= 0xFFFFFFFF:
            raise ValueError(f"tag out of range: {number:#x}")
        return super().__new__(cls, number)

    @property
    def group(self) -> int:
        """The group number (high 16 bits)."""
        return self >> 16

    @property
    def element(self) -> int:
        """The element number (low 16 bits)."""
        return self & 0xFFFF

    @property
    def is_private(self) -> bool:
        """True for odd groups, which PS3.5 7.8.1 reserves for private data.

        Groups 0001, 0003, 0005, 0007 and FFFF are odd but not private.
        """
        return bool(self.group & 1) and 0x0008 < self.group < 0xFFFF

    @property
    def is_private_creator(self) -> bool:
        """True for (gggg,0010-00FF) in a private group: the block reservations."""
        return self.is_private and 0x0010 <= self.element <= 0x00FF

    @property
    def is_group_length(self) -> bool:
        """True for (gggg,0000), the retired group length elements."""
        return self.element == 0

    def __repr__(self) -> str:
        return f"({self.group:04X},{self.element:04X})"

    __str__ = __repr__


ITEM = Tag(0xFFFEE000)
ITEM_DELIMITER = Tag(0xFFFEE00D)
SEQUENCE_DELIMITER = Tag(0xFFFEE0DD)
