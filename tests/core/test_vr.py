"""Tests for dicomframe.core.vr: the 34 VRs and the facts each one carries."""

from __future__ import annotations

import pytest

import dicomframe as dcf
from dicomframe.core.vr import (
    BINARY_NUMBER_FORMATS,
    BYTES_VRS,
    CHARSET_VRS,
    LONG_HEADER_VRS,
    SINGLE_VALUE_TEXT_VRS,
    STRING_VRS,
    SWAP_SIZE,
    VR,
    padding_byte,
)

# PS3.5 Table 6.2-1, 2023 edition and later.
ALL_VRS = [
    "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD", "OF",
    "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN",
    "UR", "US", "UT", "UV",
]  # fmt: skip
# PS3.5 7.1.2 / Table 7.1-1: reserved 2 bytes and a 32-bit length in Explicit VR.
LONG_HEADER = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
# PS3.5 6.1.2.3: the VRs the Specific Character Set applies to.
CHARSET = {"LO", "LT", "PN", "SH", "ST", "UC", "UT"}


def test_thirty_four_members() -> None:
    assert len(VR) == 34
    assert sorted(v.value for v in VR) == sorted(ALL_VRS)
    assert dcf.VR is VR


@pytest.mark.parametrize("name", ALL_VRS)
def test_member_is_its_text(name: str) -> None:
    vr = VR(name)
    assert vr == name
    assert str(vr) == name
    assert f"{vr}" == name
    assert VR[name] is vr


@pytest.mark.parametrize("bad", ["", "XX", "ox", "OB ", "US\0"])
def test_unknown_vr(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a valid VR"):
        VR(bad)


def test_long_header_set_is_ps3_5_7_1_2() -> None:
    assert {v.value for v in LONG_HEADER_VRS} == LONG_HEADER


def test_charset_vrs() -> None:
    assert {v.value for v in CHARSET_VRS} == CHARSET
    assert CHARSET_VRS <= STRING_VRS


def test_partition() -> None:
    # Every VR but SQ is exactly one of: text, binary number (incl. AT), bytes.
    groups = [STRING_VRS, frozenset(BINARY_NUMBER_FORMATS), BYTES_VRS]
    for vr in VR:
        count = sum(vr in group for group in groups)
        assert count == (0 if vr is VR.SQ else 1), vr


def test_single_value_text() -> None:
    assert {v.value for v in SINGLE_VALUE_TEXT_VRS} == {"LT", "ST", "UT", "UR"}


@pytest.mark.parametrize(
    ("vr", "fmt", "size"),
    [
        ("US", "H", 2),
        ("SS", "h", 2),
        ("UL", "L", 4),
        ("SL", "l", 4),
        ("FL", "f", 4),
        ("FD", "d", 8),
        ("SV", "q", 8),
        ("UV", "Q", 8),
        ("AT", "H", 2),
    ],
)
def test_binary_number_formats(vr: str, fmt: str, size: int) -> None:
    assert BINARY_NUMBER_FORMATS[VR(vr)] == (fmt, size)


@pytest.mark.parametrize(
    ("vr", "size"),
    [("OW", 2), ("OF", 4), ("OL", 4), ("OD", 8), ("OV", 8), ("US", 2), ("SV", 8), ("AT", 2)],
)
def test_swap_size(vr: str, size: int) -> None:
    assert SWAP_SIZE[VR(vr)] == size


def test_ob_and_un_are_never_swapped() -> None:
    assert VR.OB not in SWAP_SIZE
    assert VR.UN not in SWAP_SIZE


# PS3.5 6.2: text is padded with a space.
@pytest.mark.parametrize("vr", sorted(STRING_VRS - {VR.UI}, key=str), ids=str)
def test_text_pads_with_space(vr: VR) -> None:
    assert padding_byte(vr) == b" "


# PS3.5 6.2: UI and OB are padded with NUL; binary numbers never need padding, but NUL is safe.
@pytest.mark.parametrize(
    "vr", [VR.UI, *sorted(BYTES_VRS, key=str), *sorted(BINARY_NUMBER_FORMATS, key=str)], ids=str
)
def test_ui_and_binary_pad_with_nul(vr: VR) -> None:
    assert padding_byte(vr) == b"\x00"
