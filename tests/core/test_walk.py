"""Tests for dicomframe.core.walk: every element at every depth, its path, safe edits."""

from __future__ import annotations

import io
import sys
from typing import Any

import pydicom
import pytest
from pydicom.data import get_testdata_file

import dicomframe as dcf
from dicomframe.core.dataset import Dataset
from dicomframe.core.element import DataElement, Sequence
from dicomframe.core.walk import Step, format_path, resolve, walk, walk_datasets


def _file(name: str) -> str:
    path = get_testdata_file(name)
    assert isinstance(path, str)
    return path


PYDICOM_FILES = [
    "CT_small.dcm",
    "MR_small.dcm",
    "rtplan.dcm",
    "JPEG2000.dcm",
    "image_dfl.dcm",
    "nested_priv_SQ.dcm",
    "priv_SQ.dcm",
    "rtstruct.dcm",
]
REFERENCED_SOP = 0x00081155


def _pydicom_paths(ds: Any, path: tuple[tuple[int, int], ...] = ()) -> list[Any]:
    """(path, tag) for every element of a pydicom dataset, depth first, built independently."""
    out = []
    for element in ds:
        out.append((path, int(element.tag)))
        if element.VR == "SQ":
            for index, item in enumerate(element.value):
                out.extend(_pydicom_paths(item, (*path, (int(element.tag), index))))
    return out


def _nested(depth: int) -> Dataset:
    """A dataset with ``depth`` sequences nested one in the other, a UID at the bottom."""
    inner = Dataset()
    inner.set(REFERENCED_SOP, "1.2.3")
    for _ in range(depth):
        outer = Dataset()
        outer.set(0x00081115, [inner], vr="SQ")
        inner = outer
    return inner


@pytest.mark.parametrize("name", PYDICOM_FILES)
def test_paths_and_order_match_pydicom(name: str) -> None:
    path = _file(name)
    theirs = pydicom.dcmread(path, force=True)
    ours = dcf.read(path, force=True)
    walked = [(tuple((int(s.tag), s.item) for s in p), int(e.tag)) for p, e in ours.walk()]
    assert walked == _pydicom_paths(theirs)
    assert [t for _, t in walked] == [int(e.tag) for e in theirs.iterall()]


def test_paths_lead_to_the_dataset_holding_the_element() -> None:
    ds = dcf.read(_file("rtplan.dcm"))
    deepest = max(len(p) for p, _ in ds.walk())
    assert deepest >= 2
    for path, element in ds.walk():
        assert resolve(ds, path)[element.tag] is element
    for walked in walk_datasets(ds):
        assert resolve(ds, walked.path) is walked.dataset


def test_step_and_format_path() -> None:
    ds = _nested(2)
    (top, middle, bottom) = list(ds.walk())
    assert top == ((), ds[0x00081115])
    assert middle[0] == (Step(dcf.Tag(0x00081115), 0),)
    assert bottom[0] == (Step(dcf.Tag(0x00081115), 0), Step(dcf.Tag(0x00081115), 0))
    assert format_path(bottom[0], bottom[1].tag) == "(0008,1115)[0]/(0008,1115)[0]/(0008,1155)"
    assert format_path(()) == ""


def test_deleting_each_yielded_element_is_safe_and_visits_everything() -> None:
    ds = dcf.read(_file("rtplan.dcm"))
    expected = [e.tag for _, e in ds.walk() if not e.is_sequence]
    seen = []
    for walked in walk_datasets(ds):
        if not walked.element.is_sequence:
            del walked.dataset[walked.element.tag]
            seen.append(walked.element.tag)
    assert seen == expected
    assert all(e.is_sequence for _, e in ds.walk())


def test_a_removed_sequence_is_not_walked_into() -> None:
    ds = _nested(3)
    visited = []
    for walked in walk_datasets(ds):
        visited.append(walked.element.tag)
        if len(walked.path) == 1:
            del walked.dataset[walked.element.tag]
    assert visited == [0x00081115, 0x00081115]
    assert ds[0x00081115].sequence[0].elements() == []


def test_a_sequence_given_new_items_while_walking_is_walked_with_them() -> None:
    ds = _nested(1)
    replacement = Dataset()
    replacement.set(0x00100010, "New^Item")
    seen = []
    for _, element in ds.walk():
        seen.append(element.tag)
        if element.is_sequence:
            element.value = [replacement]
    assert seen == [0x00081115, 0x00100010]


def test_items_are_listed_when_reached_not_before() -> None:
    first, second = Dataset(), Dataset()
    first.set(0x00100010, "A^B")
    ds = Dataset()
    ds.set(0x00081115, [first, second], vr="SQ")
    seen = []
    for _, element in ds.walk():
        seen.append(element.tag)
        if element.tag == 0x00100010:
            second.set(0x00100020, "added while walking the first item")
    assert seen == [0x00081115, 0x00100010, 0x00100020]


def test_elements_added_to_an_entered_dataset_are_not_visited() -> None:
    ds = Dataset()
    ds.set(0x00100010, "A^B")
    seen = [e.tag for _, e in _adding(ds)]
    assert seen == [0x00100010]
    assert 0x00100020 in ds


def _adding(ds: Dataset) -> Any:
    for path, element in ds.walk():
        ds.set(0x00100020, "late")
        yield path, element


def test_depth_past_the_limit_is_a_limit_error() -> None:
    with pytest.raises(dcf.LimitError, match="max_depth") as info:
        list(_nested(101).walk())
    assert info.value.limit == "max_depth"
    assert len(list(_nested(100).walk())) == 101
    assert len(list(walk(_nested(5), max_depth=5))) == 6
    with pytest.raises(dcf.LimitError):
        list(walk(_nested(5), max_depth=4))


def test_deep_nesting_never_recurses() -> None:
    depth = 3000  # three times Python's default recursion limit
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        count = 0
        last: tuple[Step, ...] = ()
        for path, _ in walk(_nested(depth), max_depth=depth):
            count, last = count + 1, path
    finally:
        sys.setrecursionlimit(limit)
    assert count == depth + 1
    assert len(last) == depth


def test_a_dataset_holding_itself_stops_at_the_limit() -> None:
    ds = Dataset()
    ds.add(DataElement(0x00081115, "SQ", Sequence([ds])))
    with pytest.raises(dcf.LimitError):
        list(ds.walk())


def test_an_item_that_is_not_a_dataset_is_a_type_error() -> None:
    ds = Dataset()
    ds.add(DataElement(0x00081115, "SQ", Sequence(["text"])))
    with pytest.raises(TypeError, match=r"\(0008,1115\)\[0\]"):
        list(ds.walk())


def test_walk_parses_lazy_sequences() -> None:
    out = io.BytesIO()
    dcf.write(_nested(3), out)
    ds = dcf.read(out.getvalue())
    top = ds[0x00081115]
    loaded = [top.is_loaded]  # lazy until walked
    walked = list(ds.walk())
    loaded.append(top.is_loaded)
    assert loaded == [False, True]
    assert [len(p) for p, _ in walked] == [0, 1, 2, 3]
    assert walked[-1][1].value == "1.2.3"


def test_the_datasets_own_limits_bound_the_walk() -> None:
    ds = _nested(5)
    ds.limits = dcf.Limits(max_depth=4)
    with pytest.raises(dcf.LimitError):
        list(ds.walk())
    ds.limits = dcf.Limits(max_depth=5)
    assert len(list(ds.walk())) == 6
