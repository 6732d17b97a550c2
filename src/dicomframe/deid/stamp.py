"""The attributes that say an instance was de-identified, and how (PS3.15 E.1.1, PS3.3 C.7.1.1).

- Patient Identity Removed (0012,0062) = ``YES``.
- De-identification Method (0012,0063): one value for the profile and one per
  option, each within the 64 characters of LO.
- De-identification Method Code Sequence (0012,0064): 113100 and one CID 7050
  code per option, in the order of :class:`~dicomframe.deid.options.Option`.
  It replaces any earlier one: it describes what was done to this instance.
  113101 (Clean Pixel Data) follows when masks blacked out burned-in text.
- Longitudinal Temporal Information Modified (0028,0303): ``MODIFIED`` when
  dates were shifted, ``UNMODIFIED`` when kept, ``REMOVED`` otherwise (the
  Basic Profile removes or empties them).
"""

from __future__ import annotations

from collections.abc import Set

from dicomframe.core.dataset import Dataset
from dicomframe.core.element import DataElement, Sequence
from dicomframe.core.vr import VR
from dicomframe.deid.options import BASIC_PROFILE, OPTION_FACTS, Code, Option

__all__ = ["CLEAN_PIXEL_DATA", "METHOD_PREFIX", "codes_for", "stamp"]

METHOD_PREFIX = "dicomframe: PS3.15 E.1-1 Basic Profile"
CLEAN_PIXEL_DATA = Code("113101", "DCM", "Clean Pixel Data Option")


def codes_for(options: Set[Option], *, clean_pixels: bool = False) -> list[Code]:
    """113100, the code of each option in force, then 113101 when pixels were masked."""
    codes = [BASIC_PROFILE] + [OPTION_FACTS[o].code for o in Option if o in options]
    return [*codes, CLEAN_PIXEL_DATA] if clean_pixels else codes


def _code_item(code: Code) -> Dataset:
    return Dataset([
        DataElement(0x00080100, VR.SH, code.value),
        DataElement(0x00080102, VR.SH, code.scheme),
        DataElement(0x00080104, VR.LO, code.meaning),
    ])  # fmt: skip


def stamp(ds: Dataset, options: Set[Option], *, clean_pixels: bool = False) -> None:
    """Add the de-identification attributes to ``ds`` (``clean_pixels``: masks were applied)."""
    codes = codes_for(options, clean_pixels=clean_pixels)
    ds.add(DataElement(0x00120062, VR.CS, "YES"))
    methods = [METHOD_PREFIX] + [c.meaning for c in codes[1:]]
    ds.add(DataElement(0x00120063, VR.LO, methods if len(methods) > 1 else methods[0]))
    ds.add(DataElement(0x00120064, VR.SQ, Sequence([_code_item(c) for c in codes])))
    if Option.RETAIN_LONGITUDINAL_MODIFIED_DATES in options:
        status = "MODIFIED"
    elif Option.RETAIN_LONGITUDINAL_FULL_DATES in options:
        status = "UNMODIFIED"
    else:
        status = "REMOVED"
    ds.add(DataElement(0x00280303, VR.CS, status))
