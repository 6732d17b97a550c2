"""The VR of an element whose header does not give a usable one (PS3.5 7.1.3, 6.2.2).

Implicit VR data has no VR in its headers: the data dictionary gives it, and
the few tags with two (``US or SS``, ``OB or OW``) are settled by the rules
of PS3.5. An explicit UN only says that its writer did not know the VR, so a
reader that knows the tag may use the dictionary's. Explicit VR data that
names every VR never imports the dictionary.

:data:`IMPLICIT_VRS` keeps the answers that hold for any defined length (a
tag with one VR, not SQ, and unknown tags, which are UN), so the parser's
inline loop asks the dictionary once per tag and process, not once per element.
"""

from __future__ import annotations

from typing import Any, Protocol

from dicomframe.core.vr import BINARY_NUMBER_FORMATS, LONG_HEADER_VRS, VR


class _ReadSoFar(Protocol):
    """The elements of the dataset read so far (a Dataset is one)."""

    def get(self, key: int, default: Any = None) -> Any:
        """The value of ``key``, or ``default``."""
        ...


__all__ = ["IMPLICIT_VRS", "implicit_vr", "known_vr"]

_UNDEFINED = 0xFFFFFFFF  # PS3.5 7.1.1: undefined length
IMPLICIT_VRS: dict[int, VR] = {}
_MAX_CACHED = 1 << 14  # bounds the cache when files bring many private tags


def implicit_vr(tag: int, length: int, ds: _ReadSoFar | None) -> VR:
    """The VR of an Implicit VR element: the dictionary's, with PS3.5 ambiguities settled.

    ``ds`` is the dataset read so far, whose Pixel Representation decides
    ``US or SS``; an unknown tag of undefined length is a sequence (PS3.5 6.2.2).
    """
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
    if "OW" in choices and length == _UNDEFINED:
        return VR.OB  # PS3.5 A.4: encapsulated data is OB
    if "SS" in choices and ds is not None and ds.get(0x00280103) == 1:
        return VR.SS
    if "OW" in choices and (tag >= 0x60000000 or "US" not in choices):
        return VR.OW  # PS3.5 A.1: in Implicit VR, Pixel Data and Overlay Data are OW
    return VR(choices[0])


def known_vr(tag: int, length: int, little: bool) -> tuple[VR, bool]:
    """The dictionary VR for an explicit UN element, when it has exactly one.

    PS3.5 6.2.2: UN only says the writer did not know the VR; its bytes are
    the Implicit VR Little Endian encoding, so a reader that does know the tag
    may decode them as that VR (and little endian). Ambiguous and SQ entries
    stay UN, in the byte order given.
    """
    from dicomframe.core.dictionary import lookup

    entry = lookup(tag)
    if entry is None or len(entry.vrs) != 1 or entry.vrs[0] not in VR.__members__:
        return VR.UN, little
    vr = VR(entry.vrs[0])
    if vr in (VR.SQ, VR.UN) or (vr not in LONG_HEADER_VRS and length > 0xFFFF):
        return VR.UN, little
    if vr in BINARY_NUMBER_FORMATS and length % BINARY_NUMBER_FORMATS[vr][1]:
        return VR.UN, little
    return vr, True
