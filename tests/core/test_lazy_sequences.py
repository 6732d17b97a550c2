"""Sequences stay bytes until first used, then parse once, to the same items as an eager read."""

from __future__ import annotations

import copy
import io
import os
import warnings
from pathlib import Path
from typing import Any

import pytest

import dicomframe as dcf
from dicomframe.core import skipping
from dicomframe.core.source import Unparsed
from tests.reference import TESTDATA, pydicom_files

NESTED = [TESTDATA / "sequences_defined.dcm", TESTDATA / "sequences_undefined.dcm"]


def functional_groups(items: int, lengths: str) -> bytes:
    """A header with ``items`` per-frame functional group items, two nested sequences each."""
    ds = dcf.Dataset()
    ds.PatientName = "Lazy^Loader"
    groups = []
    for index in range(items):
        position, orientation = dcf.Dataset(), dcf.Dataset()
        position.ImagePositionPatient = [0, 0, index]
        orientation.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        item = dcf.Dataset()
        item.PlanePositionSequence = [position]
        item.PlaneOrientationSequence = [orientation]
        groups.append(item)
    ds.PerFrameFunctionalGroupsSequence = groups
    ds.Rows = 4
    out = io.BytesIO()
    dcf.write(ds, out, sequence_lengths=lengths)
    return out.getvalue()


def eager(source: object) -> dcf.Dataset:
    """The dataset with every sequence parsed while reading (a lenient read is eager)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", dcf.RepairWarning)  # nothing to repair in these
        return dcf.read(source, lenient=True)  # type: ignore[arg-type]


@pytest.mark.parametrize("lengths", ["defined", "undefined"])
def test_items_are_left_as_bytes_until_used(lengths: str) -> None:
    ds = dcf.read(functional_groups(50, lengths))
    element = ds["PerFrameFunctionalGroupsSequence"]
    assert type(element._raw) is Unparsed
    assert not element.is_loaded
    assert ds.Rows == 4  # elements after the sequence were read: its end was found
    groups = ds.PerFrameFunctionalGroupsSequence
    assert element.is_loaded
    assert ds.PerFrameFunctionalGroupsSequence is groups  # parsed once
    assert groups.undefined_length == (lengths == "undefined")
    inner = groups[7]["PlanePositionSequence"]
    assert type(inner._raw) is Unparsed  # nested sequences wait for their own first use
    assert groups[7].PlanePositionSequence[0].ImagePositionPatient == [0, 0, 7]


@pytest.mark.parametrize("lengths", ["defined", "undefined"])
def test_lazy_items_equal_eager_ones(lengths: str) -> None:
    data = functional_groups(20, lengths)
    assert dcf.read(data) == eager(data)


@pytest.mark.parametrize(
    "path",
    [*NESTED, *(p for p in pydicom_files() if p.name in ("nested_priv_SQ.dcm", "rtplan.dcm"))],
    ids=lambda p: p.name,
)
def test_files_read_lazily_equal_eager_reads_and_write_back_the_same(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lazy, full = dcf.read(path), dcf.read(path, lenient=True)
        assert lazy == full
        written = [io.BytesIO(), io.BytesIO()]
        dcf.write(dcf.read(path), written[0])
        dcf.write(full, written[1])
    assert written[0].getvalue() == written[1].getvalue()


def test_a_closed_file_keeps_no_unparsed_sequence(tmp_path: Path) -> None:
    path = tmp_path / "groups.dcm"
    path.write_bytes(functional_groups(2000, "defined"))
    ds = dcf.read(path, defer_size=1024)
    assert ds.source is not None  # mapped: the items are still in the file
    ds.close()
    with pytest.raises(dcf.DicomError, match="closed"):
        _ = ds.PerFrameFunctionalGroupsSequence


def test_load_parses_every_sequence_so_it_outlives_the_file(tmp_path: Path) -> None:
    path = tmp_path / "groups.dcm"
    path.write_bytes(functional_groups(2000, "undefined"))
    with dcf.read(path, defer_size=1024) as ds:
        ds.load()
    assert len(ds.PerFrameFunctionalGroupsSequence) == 2000


def test_a_sequence_of_a_changed_file_is_not_parsed(tmp_path: Path) -> None:
    path = tmp_path / "groups.dcm"
    path.write_bytes(functional_groups(2000, "defined"))
    ds = dcf.read(path, defer_size=1024)
    stamp = path.stat()
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))
    with pytest.raises(dcf.SourceChangedError):
        _ = ds.PerFrameFunctionalGroupsSequence
    ds.close()


def test_bytes_in_memory_stay_with_their_sequences() -> None:
    ds = dcf.read(functional_groups(10, "defined"))
    ds.close()  # nothing to close for bytes: the items still parse
    assert len(ds.PerFrameFunctionalGroupsSequence) == 10


def test_copies_and_iter_elements_hold_parsed_items(tmp_path: Path) -> None:
    data = functional_groups(5, "undefined")
    clone = copy.deepcopy(dcf.read(data))
    assert clone["PerFrameFunctionalGroupsSequence"].is_loaded
    assert len(clone.PerFrameFunctionalGroupsSequence) == 5
    path = tmp_path / "groups.dcm"
    path.write_bytes(data)
    streamed = {e.keyword: e for e in dcf.iter_elements(path)}
    assert streamed["PerFrameFunctionalGroupsSequence"].is_loaded  # streaming stays eager


def damaged(lengths: str) -> bytes:
    data = bytearray(functional_groups(3, lengths))
    start = data.index(b"\xfe\xff\x00\xe0")  # the first item header
    data[start : start + 4] = b"\x08\x00\x60\x00"
    return bytes(data)


def test_damage_inside_a_defined_length_sequence_is_found_when_it_is_used() -> None:
    ds = dcf.read(damaged("defined"))
    assert str(ds.PatientName) == "Lazy^Loader"
    with pytest.raises(dcf.InvalidDicomError, match="expected an Item tag") as info:
        _ = ds.PerFrameFunctionalGroupsSequence
    assert info.value.tag == 0x52009230


def test_damage_inside_an_undefined_length_sequence_is_found_by_the_skip() -> None:
    with pytest.raises(dcf.InvalidDicomError, match="expected an Item tag") as info:
        dcf.read(damaged("undefined"))
    assert info.value.tag == 0x52009230


# ------------------------------------------------------------------ runs of items alike


def _varied_groups(items: int, every: int) -> bytes:
    """Functional groups whose items change layout every ``every`` items (a longer value)."""
    ds = dcf.Dataset()
    groups = []
    for index in range(items):
        position = dcf.Dataset()
        position.ImagePositionPatient = [0, 0, index if (index // every) % 2 else 1]
        if index % (3 * every) == 7:
            position.set(0x00091010, b"\x01\x02\x03\x04" * 40, "OB")  # a long header now and then
        item = dcf.Dataset()
        item.PlanePositionSequence = [position]
        groups.append(item)
    ds.PerFrameFunctionalGroupsSequence = groups
    ds.Rows = 4
    out = io.BytesIO()
    dcf.write(ds, out, sequence_lengths="undefined")
    return out.getvalue()


@pytest.mark.parametrize("every", [1, 5, 40, 1000])
def test_runs_of_items_alike_are_skipped_at_once(
    monkeypatch: pytest.MonkeyPatch, every: int
) -> None:
    data = _varied_groups(600, every)
    calls: list[int] = []
    repeats = skipping.repeats

    def spy(*args: Any) -> int:
        calls.append(found := repeats(*args))
        return found

    monkeypatch.setattr(skipping, "repeats", spy)
    ds = dcf.read(data)
    assert ds.Rows == 4  # the end of the sequence was found
    assert calls  # compared in runs past REPEAT_FROM items
    if every >= 40:
        assert max(calls) >= min(every, 600) - skipping.REPEAT_FROM - 1  # a run in one step
    groups = ds.PerFrameFunctionalGroupsSequence
    assert groups == eager(data).PerFrameFunctionalGroupsSequence
    assert len(groups) == 600
    assert groups[599].PlanePositionSequence[0].ImagePositionPatient[2] in (1, 599)


def test_a_run_never_reaches_past_the_data() -> None:
    data = functional_groups(100, "undefined")
    delimiter = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    cut = data.rindex(delimiter)  # the last one: the sequence's own
    with pytest.raises(dcf.InvalidDicomError, match="sequence item header"):
        dcf.read(data[:cut])  # items alike up to the end, and no delimiter


def _deferred(item: dcf.Dataset) -> bool:
    return "_elements" not in vars(item)


@pytest.mark.parametrize("lengths", ["defined", "undefined"])
@pytest.mark.parametrize("count", [5, 16, 17, 300])
def test_items_parse_one_by_one_on_first_use(lengths: str, count: int) -> None:
    """A touched sequence holds unparsed items; only the items used are parsed."""
    ds = dcf.read(functional_groups(count, lengths))
    groups = ds.PerFrameFunctionalGroupsSequence
    assert len(groups) == count
    assert all(_deferred(item) for item in groups)
    last = groups[count - 1]
    assert last.PlanePositionSequence[0].ImagePositionPatient == [0, 0, count - 1]
    assert not _deferred(last)
    assert [_deferred(item) for item in groups].count(True) == count - 1
    assert groups == eager(functional_groups(count, lengths)).PerFrameFunctionalGroupsSequence
    assert [item.undefined_length for item in groups] == [lengths == "undefined"] * count


def test_frame_functional_groups_parses_only_its_item() -> None:
    ds = dcf.read(functional_groups(1000, "undefined"))
    groups = ds.frame_functional_groups(500)
    assert groups.PlanePositionSequence[0].ImagePositionPatient == [0, 0, 500]
    parsed = [
        i for i, item in enumerate(ds.PerFrameFunctionalGroupsSequence) if not _deferred(item)
    ]
    assert parsed == [500]


def test_damage_in_one_item_is_raised_by_that_item_every_time() -> None:
    """Defined lengths bound every item: the damage waits for its item (undefined ones are
    walked when the file is read, which finds it then)."""
    data = bytearray(functional_groups(40, "defined"))
    at = data.index(b"\x20\x00\x32\x00DS", len(data) // 2)  # an Image Position in item ~20
    data[at + 6 : at + 8] = (0xFFF0).to_bytes(2, "little")  # its length runs past its item
    ds = dcf.read(bytes(data))
    groups = ds.PerFrameFunctionalGroupsSequence  # the items' bounds are whole
    broken = [i for i, item in enumerate(groups) if _fails(item)]
    assert len(broken) == 1
    for _ in range(2):
        with pytest.raises(dcf.InvalidDicomError, match="exceeds"):
            _ = groups[broken[0]].PlanePositionSequence[0].ImagePositionPatient
    assert groups[0].PlanePositionSequence[0].ImagePositionPatient == [0, 0, 0]
    with pytest.raises(dcf.InvalidDicomError):
        ds.load()  # everything is checked by load()


def _fails(item: dcf.Dataset) -> bool:
    try:
        item.PlanePositionSequence[0].load()
    except dcf.InvalidDicomError:
        return True
    return False
