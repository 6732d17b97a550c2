"""Test-side readings of Table E.1-1 and of the documented choices, kept apart from the engine.

The tests judge the engine against the generated table text with their own
parser, their own resolution of combined codes and their own HMAC, so a
mistake in ``dicomframe.deid`` is not repeated in the oracle.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import dicomframe as dcf
from dicomframe.deid import _iod_types, _table
from tests.reference import pydicom_files

SALT = b"test-salt"

# Option name -> its column letter in the generated table.
COLUMNS = {
    "retain-uids": "U",
    "retain-device-identity": "V",
    "retain-institution-identity": "I",
    "retain-patient-characteristics": "P",
    "retain-longitudinal-full-dates": "F",
    "retain-longitudinal-modified-dates": "M",
    "clean-descriptors": "D",
    "clean-structured-content": "S",
    "clean-graphics": "G",
}


@dataclass(frozen=True)
class Row:
    tag: int
    mask: int
    basic: str
    options: dict[str, str]

    def matches(self, tag: int) -> bool:
        return tag & self.mask == self.tag


def table_rows() -> list[Row]:
    rows = []
    for line in _table.TABLE.strip().splitlines():
        key, basic, *extra = line.split()
        tag, _, mask = key.partition("/")
        rows.append(
            Row(
                int(tag, 16),
                int(mask or "FFFFFFFF", 16),
                basic,
                dict(e.split(":") for e in extra),
            )
        )
    return rows


ROWS = table_rows()


def row_for(tag: int) -> Row | None:
    return next((r for r in ROWS if r.matches(tag)), None)


def one_action(code: str, vr: str, iod_type: str | None = None) -> str:
    """The documented choice for a combined code (docs/deidentification.md).

    ``iod_type`` is the attribute's type in the instance's IOD ("1", "2" or
    "3"), known only at the top level of a Storage SOP Class.
    """
    parts = code.split("/")
    if len(parts) == 1:
        return code
    if "U*" in parts:
        return {"SQ": "K", "UI": "U"}.get(vr, "Z")
    if iod_type is not None:
        order = {"1": "DZX", "2": "ZDX", "3": "XZD"}[iod_type]
        return next(a for a in order if a in parts)
    if vr == "SQ":
        return "Z" if "Z" in parts else "D"
    return "D" if "D" in parts else "Z"


def iod_type(ds: dcf.Dataset, path: tuple[object, ...], tag: int) -> str | None:
    """The type ("1", "2", "3") of a top-level attribute in the IOD of ``ds``'s SOP Class.

    Read from the generated data directly (PS3.3 facts), not through the engine.
    """
    if path:
        return None
    iod = _iod_types.SOP_CLASS_IOD.get(str(ds.get(0x00080016) or ""))
    if iod is None:
        return None
    ones, twos = _iod_types.IODS[iod]
    key = f"{tag:08X}"
    return "1" if key in ones.split() else "2" if key in twos.split() else "3"


def expected_uid(uid: str, salt: bytes = SALT) -> str:
    digest = hmac.new(salt, b"uid\0" + uid.strip(" \0").encode(), hashlib.sha256).digest()
    return "2.25." + str(int.from_bytes(digest[:16], "big"))


def walk(
    ds: dcf.Dataset, path: tuple[object, ...] = ()
) -> Iterator[tuple[tuple[object, ...], dcf.DataElement]]:
    for element in ds:
        yield path, element
        if element.vr == "SQ":
            for index, item in enumerate(element.sequence):
                yield from walk(item, (*path, element.tag, index))


def find(ds: dcf.Dataset, path: tuple[object, ...], tag: int) -> dcf.DataElement | None:
    """The element at ``path`` + ``tag`` in ``ds``, or None when it or a parent is gone."""
    here = ds
    for i in range(0, len(path), 2):
        parent_tag, index = path[i], path[i + 1]
        assert isinstance(parent_tag, int)
        assert isinstance(index, int)
        if parent_tag not in here:
            return None
        items = here[parent_tag].sequence
        if index >= len(items):
            return None
        here = items[index]
    return element_or_none(here, tag)


def element_or_none(ds: dcf.Dataset, tag: int) -> dcf.DataElement | None:
    try:
        return ds[tag]
    except KeyError:
        return None


def pydicom_file(name: str) -> Path:
    found = [p for p in pydicom_files() if p.name == name]
    if not found:
        pytest.fail(f"{name} is not among pydicom's bundled test files")
    return found[0]


def read(name: str) -> dcf.Dataset:
    path = pydicom_file(name)
    try:
        return dcf.read(path)
    except dcf.InvalidDicomError:
        return dcf.read(path, force=True)  # rtstruct.dcm has no preamble
