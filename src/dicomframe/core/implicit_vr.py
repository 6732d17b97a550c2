"""The VR of an element whose header does not give a usable one (PS3.5 7.1.3, 6.2.2).

Implicit VR data has no VR in its headers: the data dictionary gives it, and
the few tags with two (``US or SS``, ``OB or OW``) are settled by the rules
of PS3.5. An explicit UN only says that its writer did not know the VR, so a
reader that knows the tag may use the dictionary's. Explicit VR data that
names every VR never imports the dictionary.

:data:`IMPLICIT_VRS` keeps the answers that hold for any defined length (a
tag with one VR, not SQ, and unknown public tags, which are UN), so the
parser's inline loop asks the dictionary once per tag and process, not once
per element.

A private data element's VR depends on its private creator, a value of the
dataset being read (PS3.5 7.8.1): ``(0019,100C)`` is DS under one creator and
something else under another. So private data elements are never cached; each
one asks the private dictionary (:func:`~dicomframe.core.dictionary.private_lookup`)
with the creator found in ``ds``, the dataset read so far, and is UN when the
creator or the element is unknown, when there is no dataset to ask (a
streaming read keeps none), or when the length cannot hold the VR's values.
"""

from __future__ import annotations

from typing import Any, Protocol

from dicomframe.core.vr import BINARY_NUMBER_FORMATS, LONG_HEADER_VRS, VR


class _ReadSoFar(Protocol):
    """The elements of the dataset read so far (a Dataset is one)."""

    def get(self, key: int, default: Any = None) -> Any:
        """The value of ``key``, or ``default``."""
        ...


__all__ = [
    "IMPLICIT_VRS",
    "PRIVATE_BY_CREATOR",
    "implicit_vr",
    "is_private_data",
    "known_vr",
    "private_vr",
]

_UNDEFINED = 0xFFFFFFFF  # PS3.5 7.1.1: undefined length
IMPLICIT_VRS: dict[int, VR] = {}
_MAX_CACHED = 1 << 14  # bounds the caches when files bring many private tags
# (creator, tag) -> the private dictionary's VR (or ambiguous choices), or None.
_PRIVATE_VRS: dict[tuple[str, int], VR | tuple[str, ...] | None] = {}
_MISSING: tuple[str, ...] = ()
# (creator's raw bytes, tag, length) -> VR, for entries with one VR: what the parser's
# inline loop asks first, with no call; an ambiguous entry depends on the dataset, so
# it is never kept here.
PRIVATE_BY_CREATOR: dict[tuple[bytes, int, int], VR] = {}


def implicit_vr(tag: int, length: int, ds: _ReadSoFar | None) -> VR:
    """The VR of an Implicit VR element: the dictionary's, with PS3.5 ambiguities settled.

    ``ds`` is the dataset read so far, whose Pixel Representation decides
    ``US or SS`` and whose Private Creators name private elements; an unknown
    tag of undefined length is a sequence (PS3.5 6.2.2).
    """
    if is_private_data(tag):  # PS3.6 lists no private data element: skip its lookup
        return private_vr(tag, length, ds)
    from dicomframe.core.dictionary import lookup

    entry = lookup(tag)
    choices = ("UN",) if entry is None else entry.vrs
    if len(choices) == 1:
        vr = VR(choices[0]) if choices[0] in VR.__members__ else VR.UN
        if entry is None and length == _UNDEFINED:
            vr = VR.SQ
        if vr is not VR.SQ and len(IMPLICIT_VRS) < _MAX_CACHED:
            IMPLICIT_VRS[int(tag)] = vr  # the same for any defined length
        return vr
    return _settle(tag, choices, length, ds)


def _settle(tag: int, choices: tuple[str, ...], length: int, ds: _ReadSoFar | None) -> VR:
    """One VR out of an ambiguous entry's choices, by the rules of PS3.5."""
    if "OW" in choices and length == _UNDEFINED:
        return VR.OB  # PS3.5 A.4: encapsulated data is OB
    if "SS" in choices and ds is not None and ds.get(0x00280103) == 1:
        return VR.SS
    if "OW" in choices and (tag >= 0x60000000 or "US" not in choices):
        return VR.OW  # PS3.5 A.1: in Implicit VR, Pixel Data and Overlay Data are OW
    return VR(choices[0])


def known_vr(tag: int, length: int, little: bool, ds: _ReadSoFar | None = None) -> tuple[VR, bool]:
    """The dictionary VR for an explicit UN element, when it has exactly one.

    PS3.5 6.2.2: UN only says the writer did not know the VR; its bytes are
    the Implicit VR Little Endian encoding, so a reader that does know the tag
    may decode them as that VR (and little endian). Ambiguous and SQ entries
    stay UN, in the byte order given. A private data element is looked up
    under its creator in ``ds``, the dataset read so far, when one is given.
    """
    from dicomframe.core.dictionary import lookup

    entry = lookup(tag)
    if entry is not None:
        one = len(entry.vrs) == 1 and entry.vr in VR.__members__
        found: VR | tuple[str, ...] | None = VR(entry.vr) if one else None
    else:
        found = _private_entry_vr(tag, ds) if is_private_data(tag) else None
    if not isinstance(found, VR):
        return VR.UN, little
    vr = found
    if vr in (VR.SQ, VR.UN) or not _fits(vr, length):
        return VR.UN, little
    return vr, True


def is_private_data(tag: int) -> bool:
    """A private data element (gggg,bb00-bbFF) of an odd group 0009-FFFD, bb 10-FF."""
    group = tag >> 16
    return bool(group & 1) and 0x0008 < group < 0xFFFF and (tag & 0xFFFF) >= 0x1000


def _private_entry_vr(tag: int, ds: _ReadSoFar | None) -> VR | tuple[str, ...] | None:
    """The private dictionary's VR for ``tag`` under its creator in ``ds``.

    One VR, or the choices of an ambiguous entry; None when the creator or the
    element is unknown, or the entry's VR is not one dicomframe knows.
    """
    if ds is None:
        return None
    at = (tag >> 16) << 16 | (tag & 0xFFFF) >> 8
    elements = getattr(ds, "_elements", None)  # a Dataset's: skips get()'s key parsing
    if isinstance(elements, dict):
        element = elements.get(at)
        creator = None if element is None else element.value
    else:
        creator = ds.get(at)
    if not isinstance(creator, str):
        return None
    key = (creator, tag)
    found = _PRIVATE_VRS.get(key, _MISSING)
    if found is _MISSING:
        found = _private_lookup(creator, tag)
        if len(_PRIVATE_VRS) < _MAX_CACHED:
            _PRIVATE_VRS[key] = found
    return found


def _private_lookup(creator: str, tag: int) -> VR | tuple[str, ...] | None:
    from dicomframe.core.dictionary import private_lookup

    entry = private_lookup(creator, tag) if creator.strip(" \0") else None
    if entry is None or not all(choice in VR.__members__ for choice in entry.vrs):
        return None
    return VR(entry.vr) if len(entry.vrs) == 1 else entry.vrs


def private_vr(tag: int, length: int, ds: _ReadSoFar | None) -> VR:
    """The VR of an Implicit VR private data element, from its creator's dictionary entry.

    UN when ``ds`` (the dataset read so far) has no creator for the block,
    when the private dictionary does not know the creator or the element, or
    when ``length`` is not a whole number of the VR's values or too long for
    the VR's 16-bit length field in Explicit VR. Undefined length means a
    sequence whatever the dictionary says (PS3.5 6.2.2, 7.5). Answers are
    cached by creator and tag, never by tag alone.
    """
    if length == _UNDEFINED:
        return VR.SQ
    found = _private_entry_vr(tag, ds)
    if found is None:
        vr = VR.UN
    elif isinstance(found, VR):
        vr = found if _fits(found, length) else VR.UN
    else:
        vr = _settle(tag, found, length, ds)
        return vr if _fits(vr, length) else VR.UN
    _remember(tag, length, ds, vr)
    return vr


def _remember(tag: int, length: int, ds: _ReadSoFar | None, vr: VR) -> None:
    """Keep an answer that depends only on the creator's bytes, the tag and the length."""
    elements = getattr(ds, "_elements", None)
    if not isinstance(elements, dict) or len(PRIVATE_BY_CREATOR) >= _MAX_CACHED:
        return
    owner = elements.get((tag >> 16) << 16 | (tag & 0xFFFF) >> 8)
    raw = getattr(owner, "_raw", None)
    if isinstance(raw, bytes | memoryview):
        PRIVATE_BY_CREATOR[bytes(raw), tag, length] = vr


def _fits(vr: VR, length: int) -> bool:
    """Whether ``length`` bytes can be a value of ``vr`` written with an explicit header."""
    if vr not in LONG_HEADER_VRS and length > 0xFFFF:
        return False
    return vr not in BINARY_NUMBER_FORMATS or length % BINARY_NUMBER_FORMATS[vr][1] == 0
