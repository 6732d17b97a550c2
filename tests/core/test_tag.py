"""Tests for dicomframe.core.tag: construction, parts, private ranges, int behaviour."""

from __future__ import annotations

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.core.tag import ITEM, ITEM_DELIMITER, SEQUENCE_DELIMITER, Tag


@pytest.mark.parametrize(
    "args",
    [
        (0x00100010,),
        (0x0010, 0x0010),
        ((0x0010, 0x0010),),
        ("(0010,0010)",),
        ("00100010",),
        ("0010,0010",),
        (" ( 0010 , 0010 ) ",),
        (np.uint32(0x00100010),),
        (Tag(0x00100010),),
    ],
    ids=repr,
)
def test_constructors_agree(args: tuple[object, ...]) -> None:
    tag = Tag(*args)  # type: ignore[arg-type]
    assert tag == 0x00100010
    assert type(tag) is Tag
    assert isinstance(tag, int)


def test_hex_text_is_read_as_hex() -> None:
    assert Tag("(7FE0,0010)") == 0x7FE00010
    assert Tag("7fe00010") == 0x7FE00010
    assert Tag("(FFFE,E000)") == ITEM


@pytest.mark.parametrize(
    "args",
    [
        (-1,),
        (0x1_0000_0000,),
        (0x10000, 0),
        (0, 0x10000),
        (-1, 0),
        (0, -1),
        ((1, 2, 3),),
        ((1,),),
        ("",),
        ("xyz",),
        ("(0010,00100)",),
        ("0010001",),
        ("(GGGG,EEEE)",),
    ],
    ids=repr,
)
def test_bad_values_raise_value_error(args: tuple[object, ...]) -> None:
    with pytest.raises(ValueError, match=r"tag|\(group, element\)"):
        Tag(*args)  # type: ignore[arg-type]


@pytest.mark.parametrize("args", [(1.5,), (0x10, 1.0), ("0010", 0x10), (None,)], ids=repr)
def test_non_integers_are_refused(args: tuple[object, ...]) -> None:
    # int() would truncate 1.5 and read "0010" as decimal ten: both silently wrong.
    with pytest.raises(TypeError):
        Tag(*args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "group", "element"),
    [
        (0x00100010, 0x0010, 0x0010),
        (0x7FE00010, 0x7FE0, 0x0010),
        (0xFFFEE000, 0xFFFE, 0xE000),
        (0, 0, 0),
        (0xFFFFFFFF, 0xFFFF, 0xFFFF),
    ],
)
def test_group_and_element(value: int, group: int, element: int) -> None:
    tag = Tag(value)
    assert (tag.group, tag.element) == (group, element)
    assert Tag(group, element) == tag
    assert type(tag.group) is int


@pytest.mark.parametrize(
    ("value", "private", "creator"),
    [
        (0x00090010, True, True),
        (0x000900FF, True, True),
        (0x0009000F, True, False),  # below the reservation block
        (0x00090100, True, False),  # a private element, not a creator
        (0x00091001, True, False),
        (0x7FE10010, True, True),
        (0x00100010, False, False),  # even group: public
        (0x00020010, False, False),
        (0x00010010, False, False),  # PS3.5 7.8.1: 0001, 0003, 0005, 0007 are not private
        (0x00030010, False, False),
        (0x00050010, False, False),
        (0x00070010, False, False),
        (0xFFFF0010, False, False),  # and neither is FFFF
        (0xFFFEE000, False, False),
    ],
    ids=lambda v: f"{v:08X}" if isinstance(v, int) and not isinstance(v, bool) else str(v),
)
def test_private_ranges(value: int, private: bool, creator: bool) -> None:
    tag = Tag(value)
    assert tag.is_private is private
    assert tag.is_private_creator is creator


def test_group_length() -> None:
    assert Tag(0x00080000).is_group_length
    assert Tag(0x00020000).is_group_length
    assert not Tag(0x00080001).is_group_length


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0x00100010, "(0010,0010)"),
        (0x7FE00010, "(7FE0,0010)"),
        (0xFFFEE0DD, "(FFFE,E0DD)"),
        (0, "(0000,0000)"),
    ],
)
def test_repr_and_str(value: int, text: str) -> None:
    tag = Tag(value)
    assert repr(tag) == text
    assert str(tag) == text
    assert f"{tag}" == text
    assert Tag(text) == tag  # the text form reads back


def test_behaves_like_int() -> None:
    tags = [Tag(0x7FE00010), Tag(0x00100010), Tag(0x00080016)]
    assert sorted(tags) == [0x00080016, 0x00100010, 0x7FE00010]
    assert sorted([*tags, 0x00090010]) == [0x00080016, 0x00090010, 0x00100010, 0x7FE00010]
    assert hash(Tag(0x00100010)) == hash(0x00100010)
    assert Tag(0x00100010) == 0x00100010
    assert Tag(0x00100010) < 0x00100011
    assert {Tag(0x00100010): "a"}[0x00100010] == "a"
    assert {0x00100010: "a"}[Tag(0x00100010)] == "a"
    assert len({Tag(0x00100010), 0x00100010, Tag(0x0010, 0x0010)}) == 1
    assert Tag(0x00100010) + 1 == 0x00100011
    assert f"{Tag(0x00100010):08X}" == "00100010"  # int format specs still work


def test_delimiter_constants() -> None:
    assert (ITEM.group, ITEM.element) == (0xFFFE, 0xE000)
    assert ITEM_DELIMITER == 0xFFFEE00D
    assert SEQUENCE_DELIMITER == 0xFFFEE0DD


def test_public_name() -> None:
    assert dcf.Tag is Tag
