"""Records: what a frozen, slotted dataclass gives, made without dataclasses' code generation."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from dicomframe.core.record import Record, record, replace


@record
class Point(Record):
    """A record with a default and a method."""

    x: int
    y: int = 0
    label: str | None = None

    @property
    def norm(self) -> int:
        return abs(self.x) + abs(self.y)


@dataclasses.dataclass(frozen=True, slots=True)
class DataPoint:
    x: int
    y: int = 0
    label: str | None = None


def test_construction_matches_a_frozen_dataclass() -> None:
    for args, kwargs in [((1,), {}), ((1, 2), {}), ((), {"x": 3, "label": "a"}), ((4, 5, "b"), {})]:
        ours, theirs = Point(*args, **kwargs), DataPoint(*args, **kwargs)
        assert (ours.x, ours.y, ours.label) == (theirs.x, theirs.y, theirs.label)
        assert repr(ours) == repr(theirs).replace("DataPoint", "Point")
    assert Point(2, -3).norm == 5
    assert Point.__init__.__qualname__ == "Point.__init__"
    for bad in [(), (1, 2, 3, 4)]:
        with pytest.raises(TypeError):
            Point(*bad)
    with pytest.raises(TypeError):
        Point(1, x=2)  # type: ignore[misc]
    with pytest.raises(TypeError):
        Point(1, z=2)  # type: ignore[call-arg]


def test_equal_and_hashed_by_value_and_frozen() -> None:
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(2, 1)
    assert Point(1) != DataPoint(1)  # another class, as dataclasses compare
    assert len({Point(1, 2), Point(1, 2), Point(3)}) == 2
    point = Point(1)
    with pytest.raises(AttributeError):
        point.x = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del point.y
    with pytest.raises(AttributeError):
        point.other = 1  # type: ignore[attr-defined,unused-ignore]
    assert not hasattr(point, "__dict__")  # slots


def test_pickled_copied_and_replaced() -> None:
    point = Point(1, 2, "a")
    assert pickle.loads(pickle.dumps(point)) == point
    assert copy.copy(point) == point
    assert copy.deepcopy(point) == point
    assert replace(point, y=7) == Point(1, 7, "a")
    assert point == Point(1, 2, "a")  # unchanged
    with pytest.raises(TypeError, match="no field 'z'"):
        replace(point, z=1)


def test_a_record_without_fields() -> None:
    @record
    class Empty(Record):
        pass

    assert Empty() == Empty()
    assert repr(Empty()) == "test_a_record_without_fields.<locals>.Empty()"
