"""Tests for the UID registry and UID helpers (dicomframe.core.uids)."""

from __future__ import annotations

import re

import pytest

from dicomframe.core._uid_data import UIDS
from dicomframe.core.uids import (
    UIDInfo,
    generate_uid,
    is_valid_uid,
    transfer_syntax_uids,
    uid_for_keyword,
    uid_info,
    uid_name,
)

# (uid, keyword, retired): the transfer syntaxes of PS3.6 annex A that the data must hold
TRANSFER_SYNTAXES = [
    ("1.2.840.10008.1.2", "ImplicitVRLittleEndian", False),
    ("1.2.840.10008.1.2.1", "ExplicitVRLittleEndian", False),
    ("1.2.840.10008.1.2.1.98", "EncapsulatedUncompressedExplicitVRLittleEndian", False),
    ("1.2.840.10008.1.2.1.99", "DeflatedExplicitVRLittleEndian", False),
    ("1.2.840.10008.1.2.2", "ExplicitVRBigEndian", True),
    ("1.2.840.10008.1.2.4.50", "JPEGBaseline8Bit", False),
    ("1.2.840.10008.1.2.4.51", "JPEGExtended12Bit", False),
    ("1.2.840.10008.1.2.4.57", "JPEGLossless", False),
    ("1.2.840.10008.1.2.4.70", "JPEGLosslessSV1", False),
    ("1.2.840.10008.1.2.4.80", "JPEGLSLossless", False),
    ("1.2.840.10008.1.2.4.81", "JPEGLSNearLossless", False),
    ("1.2.840.10008.1.2.4.90", "JPEG2000Lossless", False),
    ("1.2.840.10008.1.2.4.91", "JPEG2000", False),
    ("1.2.840.10008.1.2.4.92", "JPEG2000MCLossless", False),
    ("1.2.840.10008.1.2.4.93", "JPEG2000MC", False),
    ("1.2.840.10008.1.2.4.94", "JPIPReferenced", False),
    ("1.2.840.10008.1.2.4.95", "JPIPReferencedDeflate", False),
    ("1.2.840.10008.1.2.4.100", "MPEG2MPML", False),
    ("1.2.840.10008.1.2.4.102", "MPEG4HP41", False),
    ("1.2.840.10008.1.2.4.107", "HEVCMP51", False),
    ("1.2.840.10008.1.2.4.108", "HEVCM10P51", False),
    ("1.2.840.10008.1.2.4.201", "HTJ2KLossless", False),
    ("1.2.840.10008.1.2.4.202", "HTJ2KLosslessRPCL", False),
    ("1.2.840.10008.1.2.4.203", "HTJ2K", False),
    ("1.2.840.10008.1.2.4.204", "JPIPHTJ2KReferenced", False),
    ("1.2.840.10008.1.2.4.205", "JPIPHTJ2KReferencedDeflate", False),
    ("1.2.840.10008.1.2.5", "RLELossless", False),
    ("1.2.840.10008.1.2.7.1", "SMPTEST211020UncompressedProgressiveActiveVideo", False),
    ("1.2.840.10008.1.2.7.3", "SMPTEST211030PCMDigitalAudio", False),
]
# Added to PS3.6 after the pydicom release the data was generated from (JPEG XL: Sup 232,
# deflated image frame compression: Sup 244); checked only when present.
LATER_TRANSFER_SYNTAXES = [
    "1.2.840.10008.1.2.4.110",
    "1.2.840.10008.1.2.4.111",
    "1.2.840.10008.1.2.4.112",
    "1.2.840.10008.1.2.8.1",
]


@pytest.mark.parametrize(
    ("uid", "keyword", "retired"), TRANSFER_SYNTAXES, ids=[t[1] for t in TRANSFER_SYNTAXES]
)
def test_transfer_syntax_entries(uid: str, keyword: str, retired: bool) -> None:
    info = uid_info(uid)
    assert info is not None
    assert info.uid == uid
    assert info.type == "Transfer Syntax"
    assert info.keyword == keyword
    assert info.retired is retired
    assert uid_for_keyword(keyword) == uid
    assert uid_name(uid) == info.name != uid


def test_every_transfer_syntax_has_a_keyword() -> None:
    syntaxes = transfer_syntax_uids()
    uids = [info.uid for info in syntaxes]
    assert {uid for uid, _, _ in TRANSFER_SYNTAXES} <= set(uids)
    assert len(uids) == len(set(uids))
    for info in syntaxes:
        assert isinstance(info, UIDInfo)
        assert info.type == "Transfer Syntax"
        assert info.name
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", info.keyword), info
        assert uid_for_keyword(info.keyword) == info.uid


def test_later_transfer_syntaxes_if_present() -> None:
    # pydicom 3.0.2 has none of these; a regenerated registry that has them must key them
    for uid in LATER_TRANSFER_SYNTAXES:
        info = uid_info(uid)
        if info is not None:
            assert info.type == "Transfer Syntax"
            assert info.keyword


def test_transfer_syntaxes_in_numeric_order() -> None:
    keys = [tuple(int(p) for p in info.uid.split(".")) for info in transfer_syntax_uids()]
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    ("uid", "name", "kind", "keyword"),
    [
        ("1.2.840.10008.1.1", "Verification SOP Class", "SOP Class", "Verification"),
        (
            "1.2.840.10008.5.1.4.1.1.2",
            "CT Image Storage",
            "SOP Class",
            "CTImageStorage",
        ),
        (
            "1.2.840.10008.5.1.4.1.1.4",
            "MR Image Storage",
            "SOP Class",
            "MRImageStorage",
        ),
        (
            "1.2.840.10008.3.1.1.1",
            "DICOM Application Context Name",
            "Application Context Name",
            "DICOMApplicationContext",
        ),
    ],
)
def test_other_entries(uid: str, name: str, kind: str, keyword: str) -> None:
    assert uid_info(uid) == UIDInfo(uid, name, kind, keyword, False)
    assert uid_for_keyword(keyword) == uid


@pytest.mark.parametrize("uid", ["1.2.3.4", "", "1.2.840.10008.1.2.1\x00", "1.2.840.10008"])
def test_unknown_uid(uid: str) -> None:
    assert uid_info(uid) is None
    assert uid_name(uid) == uid


@pytest.mark.parametrize("keyword", ["", "explicitvrlittleendian", "NoSuchThing"])
def test_unknown_keyword(keyword: str) -> None:
    assert uid_for_keyword(keyword) is None


def test_registry_data_is_valid() -> None:
    keywords = [data[2] for data in UIDS.values() if data[2]]
    assert len(keywords) == len(set(keywords))
    for uid, (_name, kind, _keyword, retired) in UIDS.items():
        assert is_valid_uid(uid), uid
        assert kind
        assert isinstance(retired, bool)


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "1.2",
        "1.2.840.10008.1.2.4.201",
        "2.25.0",
        "1.0.3",
        "1.2.840.10008.1.2.1.99",
        "1." + "2" * 62,  # exactly 64
    ],
)
def test_valid_uids(text: str) -> None:
    assert is_valid_uid(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        ".",
        "1.",
        ".1",
        "1..2",
        "1.02",
        "01.2",
        "1.2.a",
        "1.2 ",
        "1.2\x00",
        "1.2\n",
        "1,2",
        "-1.2",
        "1.\u0662",  # ARABIC-INDIC DIGIT TWO: a digit to str.isdigit, not to PS3.5
        "1." + "2" * 63,  # 65 characters
    ],
)
def test_invalid_uids(text: str) -> None:
    assert not is_valid_uid(text)


def test_generate_uid_default() -> None:
    uids = {generate_uid() for _ in range(200)}
    assert len(uids) == 200
    for uid in uids:
        assert uid.startswith("2.25.")
        assert is_valid_uid(uid)
        assert len(uid) <= 64
        # PS3.5 B.2: the suffix is a 128-bit UUID as one integer
        assert int(uid[5:]) < 2**128


@pytest.mark.parametrize(
    "prefix",
    ["1.2.826.0.1.3680043.10.543.", "1.2.3.", "9.", "1." + "2" * 41 + "."],
)
def test_generate_uid_with_prefix(prefix: str) -> None:
    uids = {generate_uid(prefix) for _ in range(100)}
    assert len(uids) == 100
    for uid in uids:
        assert uid.startswith(prefix)
        assert is_valid_uid(uid)
        assert len(uid) - len(prefix) >= 20


@pytest.mark.parametrize(
    "prefix",
    ["", "1.2.3", "1.02.", "1..", "abc.", "1." + "2" * 42 + "."],
)
def test_generate_uid_bad_prefix(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        generate_uid(prefix)
