"""Tests for dicomframe.core.private: private blocks, creators, names and remove_private."""

from __future__ import annotations

import io
import struct
import subprocess
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.data import get_testdata_file

import dicomframe as dcf
from dicomframe.core.dataset import Dataset
from dicomframe.core.implicit_vr import known_vr, private_vr
from dicomframe.core.private import (
    PrivateBlock,
    creator_for,
    creator_tag,
    private_block,
    private_entry,
)
from dicomframe.core.walk import Step
from tests.reference import TESTDATA, require_tool

PRIVATE_FILES = ["CT_small.dcm", "JPEG2000.dcm", "nested_priv_SQ.dcm", "priv_SQ.dcm"]


def _file(name: str) -> str:
    path = get_testdata_file(name)
    assert isinstance(path, str)
    return path


def _creators(pds: Any) -> list[tuple[int, str]]:
    """(group, creator) of every private creator at the top of a pydicom dataset."""
    return [
        (e.tag.group, e.value)
        for e in pds
        if e.tag.is_private and 0x10 <= e.tag.element <= 0xFF and e.tag.group > 8
    ]


# -- private_block -------------------------------------------------------------


@pytest.mark.parametrize("name", ["CT_small.dcm", "JPEG2000.dcm"])
def test_blocks_read_what_pydicom_blocks_read(name: str) -> None:
    theirs = pydicom.dcmread(_file(name))
    ours = dcf.read(_file(name))
    creators = _creators(theirs)
    assert len(creators) >= 1
    compared = 0
    for group, creator in creators:
        mine, pyd = ours.private_block(group, creator), theirs.private_block(group, creator)
        assert mine.block_start == pyd.block_start
        for offset in range(0x100):
            assert (offset in mine) == (offset in pyd)
            if offset in pyd:
                assert mine[offset].tag == pyd[offset].tag
                assert mine[offset].vr.value == pyd[offset].VR
                assert mine[offset].value == pyd[offset].value
                compared += 1
        block = pyd.block_start >> 8
        in_block = [e.tag for e in theirs if e.tag.group == group and e.tag.element >> 8 == block]
        assert [e.tag for e in mine.elements()] == in_block
    assert compared > 50


def test_block_addresses_elements_by_offset() -> None:
    ds = dcf.read(_file("CT_small.dcm"))
    block = ds.private_block(0x0019, "GEMS_ACQU_01")
    assert isinstance(block, PrivateBlock)
    assert (block.group, block.creator, block.block_start) == (0x0019, "GEMS_ACQU_01", 0x1000)
    assert block.dataset is ds
    assert block.tag(0x04) == 0x00191004
    assert block[0x04] is ds[0x00191004]
    assert 0x04 in block
    assert 0x05 not in block
    entry = block.entry(0x04)
    assert entry is not None
    assert entry.name == "Cell spacing"
    del block[0x04]
    assert 0x00191004 not in ds
    assert 0x04 not in block
    with pytest.raises(KeyError):
        block[0x04]
    for bad in (0x100, -1):
        with pytest.raises(ValueError, match="offset"):
            block.tag(bad)


def test_a_missing_creator_is_a_key_error_as_in_pydicom() -> None:
    ds = dcf.read(_file("CT_small.dcm"))
    theirs = pydicom.dcmread(_file("CT_small.dcm"))
    with pytest.raises(KeyError):
        theirs.private_block(0x0019, "NOT THERE")
    with pytest.raises(KeyError, match="NOT THERE"):
        ds.private_block(0x0019, "NOT THERE")
    with pytest.raises(KeyError):
        ds.private_block(0x0021, "GEMS_ACQU_01")  # there, but in another group


@pytest.mark.parametrize("group", [0x0008, 0x0001, 0x0003, 0x0007, 0xFFFF, 0x10000, -1])
def test_a_group_that_is_not_private_is_a_value_error(group: int) -> None:
    with pytest.raises(ValueError, match="group"):
        Dataset().private_block(group, "ACME 1.0", create=True)


def test_an_empty_creator_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="creator"):
        Dataset().private_block(0x0009, "  ", create=True)


def test_creating_takes_the_first_free_slot_and_pydicom_reads_it_back(tmp_path: Path) -> None:
    ds = dcf.read(_file("CT_small.dcm"))  # (0009,0010) is GEMS_IDEN_01
    block = ds.private_block(0x0009, "ACME 1.0", create=True)
    assert block.block_start == 0x1100
    assert ds[0x00090011].vr is dcf.VR.LO
    assert ds[0x00090011].value == "ACME 1.0"
    assert ds.private_block(0x0009, "ACME 1.0").block_start == 0x1100  # found now
    element = block.add_new(0x01, "LO", "a value")
    assert element.tag == 0x00091101
    block.add_new(0x02, "US", 7)
    block.add_new(0x02, "SS", -7)  # replaced, VR and all
    assert ds[0x00091102].vr is dcf.VR.SS
    fresh = Dataset().private_block(0x0029, "ACME 1.0", create=True)
    assert fresh.block_start == 0x1000
    out = tmp_path / "private.dcm"
    dcf.write(ds, out)
    theirs = pydicom.dcmread(out).private_block(0x0009, "ACME 1.0")
    assert theirs.block_start == 0x1100
    assert theirs[0x01].value == "a value"
    assert (theirs[0x02].VR, theirs[0x02].value) == ("SS", -7)


def test_creating_in_a_full_group_is_a_value_error() -> None:
    ds = Dataset()
    for block in range(0x10, 0x100):
        ds.set(0x00110000 | block, f"CREATOR {block}", "LO")
    assert ds.private_block(0x0011, "CREATOR 255").block_start == 0xFF00
    with pytest.raises(ValueError, match="no free"):
        ds.private_block(0x0011, "ONE TOO MANY", create=True)


def test_creators_are_matched_without_their_padding() -> None:
    ds = Dataset()
    ds.set(0x00290010, "ACME 1.0 ", "LO")
    assert ds.private_block(0x0029, "ACME 1.0").block_start == 0x1000
    assert private_block(ds, 0x0029, " ACME 1.0").creator == "ACME 1.0"


# -- creators and names -------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        (0x0019100C, 0x00190010),
        (0x0019FF01, 0x001900FF),
        (0x00190010, None),  # a creator has no creator
        (0x00190000, None),
        (0x001900FF, None),
        (0x0018100C, None),  # even group
        (0x0001100C, None),  # odd, not private
        (0xFFFF100C, None),
    ],
)
def test_creator_tag(tag: int, expected: int | None) -> None:
    assert creator_tag(tag) == expected


def test_creator_for_and_private_entry_name_elements_from_their_dataset() -> None:
    ds = dcf.read(_file("CT_small.dcm"))
    assert creator_for(ds, 0x00191004) == "GEMS_ACQU_01"
    assert creator_for(ds, 0x00195004) is None  # no creator reserved block 0x50
    entry = private_entry(ds, 0x00191004)
    assert entry is not None
    assert (entry.creator, entry.vr, entry.name) == ("GEMS_ACQU_01", "DS", "Cell spacing")
    assert private_entry(ds, 0x00100010) is None
    ds.set(0x00190010, "", "LO")
    assert creator_for(ds, 0x00191004) is None


def test_private_names_agree_with_pydicom() -> None:
    theirs = pydicom.dcmread(_file("CT_small.dcm"))
    ours = dcf.read(_file("CT_small.dcm"))
    named = 0
    for element in theirs:
        if not element.tag.is_private or element.tag.element < 0x1000:
            continue
        entry = private_entry(ours, element.tag)
        if element.name == "Private tag data":
            assert entry is None
        else:
            assert entry is not None
            assert f"[{entry.name}]" == element.name
            named += 1
    assert named > 100


# -- remove_private -----------------------------------------------------------


def _tags(ds: Any) -> list[int]:
    return [int(e.tag) for e in ds.iterall()]


@pytest.mark.parametrize("name", PRIVATE_FILES)
def test_remove_private_leaves_what_pydicom_leaves(name: str) -> None:
    theirs = pydicom.dcmread(_file(name))
    ours = dcf.read(_file(name))
    before = len(list(ours.walk()))
    removed = ours.remove_private()
    theirs.remove_private_tags()
    assert removed
    assert [int(e.tag) for _, e in ours.walk()] == _tags(theirs)
    assert all(e.tag.group % 2 == 0 for _, e in ours.walk())
    assert all(e.tag.group % 2 for _, e in removed)
    nested_in_removed = before - len(list(ours.walk())) - len(removed)
    assert nested_in_removed >= 0  # a private sequence goes whole, listed once
    assert ours.remove_private() == []


def test_remove_private_reaches_into_items_and_reports_paths() -> None:
    item = Dataset()
    item.set(0x00081155, "1.2.3")
    item.set(0x00290010, "ACME 1.0", "LO")
    item.set(0x00291001, "secret", "LO")
    ds = Dataset()
    ds.set(0x00081115, [Dataset(), item], "SQ")
    ds.set(0x00090010, "ACME 1.0", "LO")
    inner = Dataset()
    inner.set(0x00100010, "Hidden^Inside")
    ds.set(0x00091001, [inner], "SQ")  # a private sequence: removed whole
    removed = ds.remove_private()
    assert [(p, int(e.tag)) for p, e in removed] == [  # walk order: tag order, depth first
        ((Step(dcf.Tag(0x00081115), 1),), 0x00290010),
        ((Step(dcf.Tag(0x00081115), 1),), 0x00291001),
        ((), 0x00090010),
        ((), 0x00091001),
    ]
    assert [int(e.tag) for _, e in ds.walk()] == [0x00081115, 0x00081155]


def _written(ds: Dataset) -> bytes:
    out = io.BytesIO()
    dcf.write(ds, out)
    return out.getvalue()


@pytest.mark.parametrize("name", ["CT_small.dcm", "JPEG2000.dcm", "priv_SQ.dcm"])
def test_remove_private_output_is_valid_for_pydicom_and_dcmdump(name: str, tmp_path: Path) -> None:
    ds = dcf.read(_file(name))
    ds.remove_private()
    out = tmp_path / name
    out.write_bytes(_written(ds))
    theirs = pydicom.dcmread(out)
    assert not any(e.tag.group % 2 for e in theirs.iterall())
    assert _tags(theirs) == [int(e.tag) for _, e in ds.walk()]
    result = subprocess.run(
        [require_tool("dcmdump"), "-q", str(out)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stderr == ""
    lines = [line for line in result.stdout.splitlines() if line.lstrip().startswith("(")]
    groups = {int(line.lstrip()[1:5], 16) for line in lines}
    assert lines
    assert not {g for g in groups if g % 2}


def test_remove_private_on_our_own_files_keeps_public_elements() -> None:
    for path in sorted(TESTDATA.glob("sequences*.dcm")):
        ds = dcf.read(path)
        public = [(p, int(e.tag)) for p, e in ds.walk() if not _under_private(p, e)]
        assert ds.remove_private()
        assert [(p, int(e.tag)) for p, e in ds.walk()] == public


def _under_private(path: tuple[Step, ...], element: Any) -> bool:
    return element.tag.group % 2 == 1 or any(step.tag.group % 2 for step in path)


# -- Implicit VR: private elements take their VR from the private dictionary ----------------


def _implicit(tag: int, value: bytes) -> bytes:
    return struct.pack("<HHL", tag >> 16, tag & 0xFFFF, len(value)) + value


def _implicit_copy(name: str) -> bytes:
    out = io.BytesIO()
    dcf.write(dcf.read(_file(name)), out, transfer_syntax="ImplicitVRLittleEndian")
    return out.getvalue()


def test_implicit_vr_private_elements_get_the_vr_pydicom_gives_them() -> None:
    data = _implicit_copy("CT_small.dcm")
    ours, theirs = dcf.read(data), pydicom.dcmread(io.BytesIO(data))
    compared = 0
    for element in theirs:
        if element.tag.is_private and element.tag.element >= 0x1000:
            mine = ours[element.tag]
            assert mine.vr.value == element.VR, element.tag
            assert mine.value == element.value, element.tag
            compared += 1
    assert compared == 170
    assert ours[0x00191004].vr is dcf.VR.DS  # GEMS_ACQU_01 Cell spacing
    assert ours[0x00191004].value == pytest.approx(1.0166)


def test_implicit_private_vrs_go_out_as_explicit_vrs(tmp_path: Path) -> None:
    ds = dcf.read(_implicit_copy("CT_small.dcm"))
    out = tmp_path / "explicit.dcm"
    dcf.write(ds, out, transfer_syntax="ExplicitVRLittleEndian")
    original = pydicom.dcmread(_file("CT_small.dcm"))
    written = pydicom.dcmread(out)
    private = [e for e in written if e.tag.is_private and e.tag.element >= 0x1000]
    assert [e.VR for e in private] == [original[e.tag].VR for e in private]
    assert "UN" not in {e.VR for e in private}


def _private_file(creator: bytes, *elements: bytes) -> bytes:
    return _implicit(0x00080060, b"OT") + _implicit(0x00190010, creator) + b"".join(elements)


def test_the_vr_follows_the_creator_on_every_read() -> None:
    """Private tags are never cached: the same tag under another creator is another VR."""
    known = _private_file(b"GEMS_ACQU_01", _implicit(0x00191004, b"1.25"))
    unknown = _private_file(b"ACME 1.0", _implicit(0x00191004, b"1.25"))
    for data, vr in [(known, "DS"), (unknown, "UN"), (known, "DS"), (unknown, "UN")]:
        assert dcf.read(data, force=True)[0x00191004].vr.value == vr


def test_a_private_vr_met_before_is_known_by_its_creators_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second file of a series asks the private dictionary nothing: one dict probe each."""
    from dicomframe.core import implicit_vr, parser

    monkeypatch.setattr(implicit_vr, "PRIVATE_BY_CREATOR", {})
    monkeypatch.setattr(parser, "PRIVATE_BY_CREATOR", implicit_vr.PRIVATE_BY_CREATOR)
    asked: list[int] = []
    real = parser.private_vr

    def spy(tag: int, length: int, ds: object) -> dcf.VR:
        asked.append(tag)
        return real(tag, length, ds)  # type: ignore[arg-type]

    monkeypatch.setattr(parser, "private_vr", spy)
    data = _implicit_copy("CT_small.dcm")
    first = dcf.read(data)
    assert len(asked) == 170
    second = dcf.read(data)
    assert len(asked) == 170  # nothing asked again
    assert [e.vr for e in second] == [e.vr for e in first]
    assert second[0x00191004].vr is dcf.VR.DS


@pytest.mark.parametrize(
    ("element", "vr"),
    [
        (_implicit(0x00191002, b"\x01\x00\x00\x00"), "SL"),  # Number of cells in detector
        (_implicit(0x00191002, b"\x01\x00\x00"), "UN"),  # 3 bytes cannot be SL
        (_implicit(0x00195002, b"\x01\x00\x00\x00"), "UN"),  # block 0x50 has no creator
        (_implicit(0x00191000, b"\x01\x00"), "UN"),  # not in the dictionary
    ],
)
def test_implicit_private_vr_needs_a_creator_an_entry_and_a_fitting_length(
    element: bytes, vr: str
) -> None:
    ds = dcf.read(_private_file(b"GEMS_ACQU_01 ", element), force=True)
    assert [e.vr.value for e in ds if e.tag.element >= 0x1000] == [vr]


def test_a_private_sequence_of_defined_length_is_read_as_items() -> None:
    item = _implicit(0x00100010, b"Inside^Item ")
    items = struct.pack("<HHL", 0xFFFE, 0xE000, len(item)) + item
    data = _implicit(0x00710010, b"AGFA-AG_HPState") + _implicit(0x00711018, items)
    ds = dcf.read(data, force=True)
    assert ds[0x00711018].vr is dcf.VR.SQ
    assert ds[0x00711018].sequence[0].PatientName == "Inside^Item"
    assert ds.remove_private()
    assert len(ds) == 0


def test_private_elements_in_items_use_the_items_creators() -> None:
    inner = _implicit(0x00190010, b"GEMS_ACQU_01") + _implicit(0x00191004, b"2.5 ")
    items = struct.pack("<HHL", 0xFFFE, 0xE000, len(inner)) + inner
    data = _implicit(0x00081115, items)
    item = dcf.read(data, force=True)[0x00081115].sequence[0]
    assert item[0x00191004].vr is dcf.VR.DS
    assert item[0x00191004].value == 2.5


def test_known_vr_of_an_explicit_un_private_element_needs_the_dataset() -> None:
    ds = Dataset()
    ds.set(0x00190010, "GEMS_ACQU_01", "LO")
    assert known_vr(0x00191004, 4, True, ds) == (dcf.VR.DS, True)
    assert known_vr(0x00191004, 4, False) == (dcf.VR.UN, False)  # no dataset: as before
    assert known_vr(0x00191002, 3, True, ds) == (dcf.VR.UN, True)
    assert private_vr(0x00191004, 0xFFFFFFFF, ds) is dcf.VR.SQ  # PS3.5 6.2.2
    assert private_vr(0x00191004, 4, None) is dcf.VR.UN


def test_ambiguous_private_vrs_are_settled_as_public_ones() -> None:
    ds = Dataset()
    ds.set(0x00270010, "FDMS 1.0", "LO")  # (0027,xxA3) Raw Data: US or SS
    assert private_vr(0x002710A3, 4, ds) is dcf.VR.US
    ds.set(0x00280103, 1)
    assert private_vr(0x002710A3, 4, ds) is dcf.VR.SS
