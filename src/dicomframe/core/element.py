"""Data elements: a tag, a VR and a value decoded on first access.

An element read from a file keeps the bytes it was read with (or where they
lie, for large values) and decodes them only when ``value`` is first asked
for. Until the value is assigned, the writer copies those bytes back
unchanged, so a read-write round trip is byte-exact even for values that
dicomframe would format differently.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from dicomframe.core.source import Located, Patched, Unparsed
from dicomframe.core.tag import Tag
from dicomframe.core.vr import BYTES_VRS, SWAP_SIZE, VR, swap_bytes

__all__ = ["DataElement", "Sequence"]


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()
# Text VRs whose values are stripped of padding at both ends and kept as str (PS3.5 6.2).
_PLAIN_TEXT = frozenset({VR.AE, VR.AS, VR.CS, VR.LO, VR.SH, VR.UI})


@functools.cache
def _values() -> ModuleType:
    """The ``values`` module, imported on first use (charsets and value types: ~15 ms).

    Cached rather than imported in ``value``: an import statement costs more
    than decoding a short value once the module is loaded. The module, not its
    function, so ``decode_value`` is looked up (and can be patched) per call.
    """
    from dicomframe.core import values

    return values


class Sequence(list[Any]):
    """The value of an SQ element: a list of item datasets.

    ``undefined_length`` records how the sequence was read so the writer can
    write it back the same way. It lives beside :class:`DataElement`, whose
    value it is, so the element needs nothing from the dataset module.
    """

    def __init__(self, items: Iterable[Any] = (), *, undefined_length: bool = False) -> None:
        super().__init__(items)
        self.undefined_length = undefined_length


def _as_sequence(value: Any) -> Any:
    """An SQ value given as a plain list or tuple of datasets, as a Sequence."""
    if isinstance(value, list | tuple) and not isinstance(value, Sequence):
        return Sequence(value)
    return value


def _unpadded(raw: bytes | memoryview) -> bytes:
    """Raw bytes without one trailing pad byte, which the writer may add (PS3.5 7.1.1)."""
    data = bytes(raw)
    return data[:-1] if len(data) % 2 == 0 and data[-1:] in (b"\0", b" ") else data


class DataElement:
    """One data element of a dataset.

    Parameters
    ----------
    tag
        The element's tag.
    vr
        Its value representation.
    value
        The Python value (for SQ, a :class:`~dicomframe.core.dataset.Sequence`).
        Omit it for an element read from bytes, and give ``raw`` instead.
    raw
        The value's encoded bytes, or a :class:`~dicomframe.core.source.Located`
        pointing at them in a source.
    little_endian
        The byte order ``raw`` is encoded in.
    charsets
        The Specific Character Set terms in force where the element was read.
    undefined_length
        The element was read with undefined length (SQ, encapsulated Pixel Data).
    offset
        Where the element's header starts in its source, for error messages.
    """

    __slots__ = (
        "_raw",
        "_value",
        "charsets",
        "little_endian",
        "offset",
        "tag",
        "undefined_length",
        "vr",
    )

    def __init__(  # noqa: PLR0913 - the options are keyword-only
        self,
        tag: int,
        vr: VR | str,
        value: Any = _UNSET,
        *,
        raw: bytes | memoryview | Located | Patched | Unparsed | None = None,
        little_endian: bool = True,
        charsets: tuple[str, ...] = (),
        undefined_length: bool = False,
        offset: int | None = None,
    ) -> None:
        self.tag = Tag(tag)
        self.vr = VR(vr)
        if self.vr is VR.SQ and value is _UNSET and raw is None:
            value = []  # an SQ has no bytes to decode: a new one is an empty sequence
        self._value = _as_sequence(value) if self.vr is VR.SQ else value
        self._raw = raw
        self.little_endian = little_endian
        self.charsets = charsets
        self.undefined_length = undefined_length
        self.offset = offset
        if value is _UNSET and raw is None:
            self._raw = b""

    @classmethod
    def _parsed(  # noqa: PLR0913, PLR0917 - every slot, positionally: the cheap constructor
        cls,
        tag: Tag,
        vr: VR,
        value: Any,
        raw: bytes | memoryview | Located | Unparsed | None,
        little_endian: bool,
        charsets: tuple[str, ...],
        undefined_length: bool,
        offset: int,
    ) -> DataElement:
        """An element as the parser reads it, without ``__init__``'s conversions and checks.

        The tag and VR are typed already and an SQ value is a ``Sequence``; a
        header scan makes one element per tag, so this is a quarter of the cost
        of ``__init__``. ``parser.parse_into`` inlines the same slot stores.
        """
        element = object.__new__(cls)
        element.tag = tag
        element.vr = vr
        element._value = value
        element._raw = raw
        element.little_endian = little_endian
        element.charsets = charsets
        element.undefined_length = undefined_length
        element.offset = offset
        return element

    @property
    def value(self) -> Any:
        """The decoded value; decoded on first access and kept."""
        value = self._value
        if value is not _UNSET:
            return value
        raw = self._raw
        # One ASCII value of a VR whose text is itself (UI, CS, LO, SH, AE, AS): the same in
        # every character set but ISO 2022's (an ESC) and needing no type, so decoded here,
        # without the general path's dispatch.
        if (
            type(raw) is bytes
            and self.vr in _PLAIN_TEXT
            and raw.isascii()
            and b"\\" not in raw
            and b"\x1b" not in raw
        ):
            value = self._value = raw.decode("ascii").strip(" \0")
            return value
        if type(raw) is Unparsed:  # a sequence whose items are parsed on first use
            value = self._value = raw.parse()
            self._raw = None
            return value
        if type(raw) is not bytes:  # most values read are bytes: skip the checks
            # Copy a located value out first: once decoded, the element must not need
            # its source any more (the writer and == read ``raw`` after ds.close()).
            self.load()
            raw = self.raw
        assert raw is not None  # an unset value always has raw bytes
        value = self._value = _values().decode_value(
            raw, self.vr, little_endian=self.little_endian, charsets=self.charsets, tag=self.tag
        )
        return value

    @value.setter
    def value(self, value: Any) -> None:
        self._value = _as_sequence(value) if self.vr is VR.SQ else value
        self._raw = None

    @property
    def raw(self) -> bytes | memoryview | None:
        """The bytes the value was read with, or None once the value was assigned.

        None for a sequence too: its value is its items.
        """
        raw = self._raw
        if isinstance(raw, Located | Patched):
            return raw.view()
        return None if type(raw) is Unparsed else raw  # type: ignore[return-value]

    @property
    def is_loaded(self) -> bool:
        """False while the value still lies in the source (a located large value)."""
        raw = self._raw
        located = isinstance(raw, Located | Unparsed) or (
            isinstance(raw, Patched) and isinstance(raw.base, Located)
        )
        return not located or self._value is not _UNSET

    @property
    def length(self) -> int:
        """The length of the raw value in bytes, without reading it."""
        if isinstance(self._raw, Located | Patched):
            return self._raw.length
        if type(self._raw) is Unparsed:
            return -1  # a sequence's length is its items
        raw = self.raw
        if raw is not None:
            return len(raw)
        value = self._value
        return len(value) if isinstance(value, bytes | bytearray | memoryview) else -1

    def load(self) -> None:
        """Copy a located value into memory, or parse a sequence, so it outlives the source."""
        raw = self._raw
        if type(raw) is Unparsed:
            self.value  # noqa: B018 - parsing is the loading
        elif isinstance(raw, Located):
            self._raw = bytes(raw.view())
        elif isinstance(raw, Patched) and isinstance(raw.base, Located):
            raw.base = bytes(raw.base.view())

    @property
    def keyword(self) -> str:
        """The PS3.6 keyword, or ``""`` for private and unknown tags."""
        from dicomframe.core.dictionary import keyword_for

        return keyword_for(self.tag)

    @property
    def name(self) -> str:
        """The PS3.6 name, e.g. ``"Patient's Name"``."""
        from dicomframe.core.dictionary import name_for

        return name_for(self.tag)

    @property
    def is_sequence(self) -> bool:
        """True for SQ elements, whose value is a list of datasets."""
        return self.vr is VR.SQ

    @property
    def sequence(self) -> Sequence:
        """The value of an SQ element, typed."""
        value = self.value
        if not isinstance(value, Sequence):
            raise TypeError(f"{self.tag} is {self.vr}, not a sequence")
        return value

    def __deepcopy__(self, memo: dict[int, Any]) -> DataElement:
        import copy

        if type(self._raw) is Unparsed:
            self.value  # noqa: B018 - a copy owns its items
        raw = self.raw
        clone = DataElement(
            self.tag,
            self.vr,
            _UNSET if self._value is _UNSET else copy.deepcopy(self._value, memo),
            raw=None if raw is None else bytes(raw),
            little_endian=self.little_endian,
            charsets=self.charsets,
            undefined_length=self.undefined_length,
            offset=self.offset,
        )
        return clone

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataElement):
            return NotImplemented
        if self.tag != other.tag or self.vr != other.vr:
            return False
        mine, theirs = self.raw, other.raw
        if mine is not None and theirs is not None and self.charsets == other.charsets:
            if self.little_endian != other.little_endian and self.vr in SWAP_SIZE:
                mine = swap_bytes(mine, SWAP_SIZE[self.vr])
            if _unpadded(mine) == _unpadded(theirs):
                return True
            if self.vr in BYTES_VRS:
                return False
        return bool(self.value == other.value)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        text = repr(self.value) if self.is_loaded else f"<{self.length} bytes not loaded>"
        if len(text) > 80:
            text = text[:77] + "..."
        return f"{self.tag} {self.vr} {self.keyword or 'private/unknown'}: {text}"
