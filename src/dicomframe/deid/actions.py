"""The actions of Table E.1-1 applied to one element: resolving combinations, dummy values.

Action codes (PS3.15 Table E.1-1):

- ``X`` remove; ``Z`` replace by a zero-length value; ``D`` replace by a
  non-zero-length dummy value consistent with the VR; ``K`` keep (a kept
  sequence has its items de-identified in turn); ``C`` clean (keep a value of
  similar meaning known to hold no identifying information); ``U`` replace a
  UID by another, consistently within the set of instances.
- Combinations leave the choice to the IOD: ``X/Z`` is X unless Z is needed to
  keep the instance valid (a Type 2 attribute), ``X/D``, ``Z/D`` and ``X/Z/D``
  likewise with D for Type 1. Where the instance's IOD is known (a top-level
  attribute of a Storage SOP Class in PS3.3, :mod:`dicomframe.deid.iod`), its
  type decides: D for Type 1, Z for Type 2, and for Type 3 the first of X, Z,
  D the row allows. Elsewhere (inside sequences, unknown SOP Classes) the
  choice is the one valid whatever the type: **Z for X/Z** (a Type 2 attribute
  is emptied, never removed) and **D for any combination with D** (a dummy
  value is valid for Type 1, 2 and 3); for a sequence, Z (zero items) whenever
  it is one of the choices, and D otherwise. ``X/Z/U*`` keeps a sequence and
  replaces the UIDs in its items (they are U rows themselves), is U for a UID,
  Z otherwise.

Dummy values (D) by VR, all valid for their VR: ``ANONYMOUS`` for AE, CS, LO,
LT, PN, SH, ST, UC, UR and UT; ``19000101`` for DA, ``000000`` for TM,
``19000101000000`` for DT, ``000Y`` for AS, ``0`` for DS, IS and the binary
numbers, (0000,0000) for AT, and the smallest run of zero bytes for the O* VRs
and UN. A UID under D is replaced as under U, so references stay consistent.

An overlay whose Overlay Data (60xx,3000) is removed loses its other
attributes too (Rows, Columns, Type, Origin...): without its data the Overlay
Plane module would be left with a Type 1 attribute missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dicomframe.core.element import DataElement
from dicomframe.core.tag import Tag
from dicomframe.core.vr import BINARY_NUMBER_FORMATS, VR
from dicomframe.deid.clean import IDENTIFYING_VRS
from dicomframe.deid.iod import Required
from dicomframe.deid.options import Option
from dicomframe.deid.table import rule_for

__all__ = [
    "CODE_ATTRIBUTES",
    "DUMMY",
    "DUMMY_IN_SEQUENCE",
    "dummy_element",
    "empty_element",
    "removed_overlay_groups",
    "resolve",
]

_WORD = "ANONYMOUS"
DUMMY: dict[VR, Any] = {
    **dict.fromkeys((VR.AE, VR.CS, VR.LO, VR.LT, VR.PN, VR.SH, VR.ST, VR.UC, VR.UR, VR.UT), _WORD),
    VR.DA: "19000101",
    VR.TM: "000000",
    VR.DT: "19000101000000",
    VR.AS: "000Y",
    VR.DS: "0",
    VR.IS: "0",
    VR.AT: Tag(0),
    VR.FL: 0.0,
    VR.FD: 0.0,
    **dict.fromkeys((VR.SS, VR.US, VR.SL, VR.UL, VR.SV, VR.UV), 0),
    VR.OB: b"\0\0",
    VR.UN: b"\0\0",
    VR.OW: b"\0\0",
    VR.OF: b"\0" * 4,
    VR.OL: b"\0" * 4,
    VR.OD: b"\0" * 8,
    VR.OV: b"\0" * 8,
}
# Inside a sequence under D, the VRs of the elements the table does not list that
# become dummies: free text, names, dates and times; codes, numbers and UIDs stay.
# The Code Sequence Macro (PS3.3 8.8) stays too: a code is a concept, not a person.
DUMMY_IN_SEQUENCE = IDENTIFYING_VRS | {VR.TM, VR.AS, VR.UR}
CODE_ATTRIBUTES = frozenset({
    0x00080100, 0x00080102, 0x00080103, 0x00080104, 0x00080105, 0x0008010F, 0x00080119,
    0x00080120,
})  # fmt: skip

assert set(DUMMY) | {VR.SQ, VR.UI} == set(VR)  # every VR has its dummy
assert all(vr in DUMMY for vr in BINARY_NUMBER_FORMATS)


# The actions a combined code's choices are tried in, by the attribute's type in the IOD.
_BY_TYPE = {Required.TYPE1: "DZX", Required.TYPE2: "ZDX", Required.OPTIONAL: "XZD"}


def resolve(code: str, vr: VR, required: Required = Required.UNKNOWN) -> str:
    """One action (X, Z, D, U, K or C) for an element of ``vr`` under ``code``.

    ``required`` is the attribute's type in the instance's IOD, where known.
    """
    if "/" not in code:
        return "K" if code == "U*" else code
    choices = code.split("/")
    if "U*" in choices:
        return {VR.SQ: "K", VR.UI: "U"}.get(vr, "Z")
    if required is not Required.UNKNOWN:
        return next(action for action in _BY_TYPE[required] if action in choices)
    if vr is VR.SQ:
        return "Z" if "Z" in choices else "D"
    return "D" if "D" in choices else "Z"


def empty_element(element: DataElement) -> DataElement:
    """The element with a zero-length value (Z); a sequence with no items."""
    return DataElement(element.tag, element.vr)


def dummy_element(element: DataElement) -> DataElement:
    """The element with its VR's dummy value (D); not for SQ or UI, which the engine handles."""
    return DataElement(element.tag, element.vr, DUMMY[element.vr])


def removed_overlay_groups(tags: Iterable[int], options: Iterable[Option]) -> frozenset[int]:
    """The overlay groups (6000-601E) of a dataset whose Overlay Data the profile removes."""
    chosen = tuple(options)
    groups = set()
    for tag in tags:
        group = tag >> 16
        if 0x6000 <= group <= 0x601E and not group & 1 and tag & 0xFFFF == 0x3000:
            rule = rule_for(tag)
            if rule is not None and rule.action(chosen) == "X":
                groups.add(group)
    return frozenset(groups)
