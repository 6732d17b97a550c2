"""Tests for dicomframe.core.transfer_syntax: resolve, facts, register, the PS3.6 table."""

from __future__ import annotations

import dataclasses

import pytest

import dicomframe as dcf
from dicomframe.core import transfer_syntax as ts_module
from dicomframe.core.transfer_syntax import TransferSyntax, all_syntaxes, register, resolve
from dicomframe.core.uids import UIDInfo, transfer_syntax_uids
from dicomframe.errors import UnknownTransferSyntaxError


@pytest.mark.parametrize(
    ("value", "keyword"),
    [
        ("1.2.840.10008.1.2", "ImplicitVRLittleEndian"),
        ("1.2.840.10008.1.2.1", "ExplicitVRLittleEndian"),
        ("1.2.840.10008.1.2.4.90", "JPEG2000Lossless"),
        ("JPEG2000Lossless", "JPEG2000Lossless"),
        ("jpeg2000lossless", "JPEG2000Lossless"),
        ("EXPLICITVRLITTLEENDIAN", "ExplicitVRLittleEndian"),
        ("1.2.840.10008.1.2\0", "ImplicitVRLittleEndian"),  # UI padding (PS3.5 6.2)
        ("1.2.840.10008.1.2.1 ", "ExplicitVRLittleEndian"),
        (" RLELossless ", "RLELossless"),
        ("1.2.840.10008.1.2.5", "RLELossless"),
    ],
)
def test_resolve(value: str, keyword: str) -> None:
    syntax = resolve(value)
    assert syntax.keyword == keyword
    assert TransferSyntax.resolve(value) is syntax
    assert dcf.TransferSyntax.resolve(value) is syntax


def test_resolve_returns_the_same_object() -> None:
    syntax = resolve("ExplicitVRBigEndian")
    assert resolve(syntax) is syntax
    assert resolve(syntax.uid) is syntax


@pytest.mark.parametrize(
    ("value", "suggestion"),
    [
        ("JPEG2000Losless", "JPEG2000Lossless"),
        ("ExplicitVRLittleEndain", "ExplicitVRLittleEndian"),
        ("RLELosless", "RLELossless"),
        ("1.2.840.10008.1.2.4.900", "1.2.840.10008.1.2.4.90"),
        ("1.2.840.10008.1.2.5.", "1.2.840.10008.1.2.5"),
    ],
)
def test_unknown_suggests(value: str, suggestion: str) -> None:
    with pytest.raises(UnknownTransferSyntaxError) as info:
        resolve(value)
    assert info.value.value == value
    assert suggestion in info.value.suggestions
    assert "did you mean" in str(info.value)
    assert repr(value) in str(info.value)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, dcf.DicomError)


@pytest.mark.parametrize("value", ["", "1.2.3.4.5.6.7.8.9", "Nonsense"])
def test_unknown_without_close_match(value: str) -> None:
    with pytest.raises(UnknownTransferSyntaxError, match="unknown transfer syntax"):
        resolve(value)


# keyword: explicit, little, deflated, encapsulated, lossy, retired
FACTS = {
    "ImplicitVRLittleEndian": (False, True, False, False, False, False),
    "ExplicitVRLittleEndian": (True, True, False, False, False, False),
    "ExplicitVRBigEndian": (True, False, False, False, False, True),
    "DeflatedExplicitVRLittleEndian": (True, True, True, False, False, False),
    "EncapsulatedUncompressedExplicitVRLittleEndian": (True, True, False, True, False, False),
    "JPEGBaseline8Bit": (True, True, False, True, True, False),
    "JPEGExtended12Bit": (True, True, False, True, True, False),
    "JPEGLossless": (True, True, False, True, False, False),
    "JPEGLosslessSV1": (True, True, False, True, False, False),
    "JPEGLSLossless": (True, True, False, True, False, False),
    "JPEGLSNearLossless": (True, True, False, True, True, False),
    "JPEG2000Lossless": (True, True, False, True, False, False),
    "JPEG2000": (True, True, False, True, True, False),
    "HTJ2KLossless": (True, True, False, True, False, False),
    "HTJ2K": (True, True, False, True, True, False),
    "RLELossless": (True, True, False, True, False, False),
    "JPIPReferencedDeflate": (True, True, True, False, False, False),
    "MPEG2MPML": (True, True, False, True, True, False),
    "JPEGExtended35": (True, True, False, True, True, True),
    "Papyrus3ImplicitVRLittleEndian": (False, True, False, False, False, True),
}


@pytest.mark.parametrize(("keyword", "facts"), FACTS.items())
def test_facts(keyword: str, facts: tuple[bool, ...]) -> None:
    syntax = resolve(keyword)
    got = (
        syntax.is_explicit_vr,
        syntax.is_little_endian,
        syntax.is_deflated,
        syntax.is_encapsulated,
        syntax.is_lossy,
        syntax.is_retired,
    )
    assert got == facts
    assert syntax.is_native is not syntax.is_encapsulated


def test_module_constants_are_keyword_named() -> None:
    for syntax in all_syntaxes():
        constant = getattr(ts_module, syntax.keyword, None)
        if constant is not None:
            assert constant is syntax


def test_text_forms() -> None:
    syntax = resolve("JPEG2000Lossless")
    assert str(syntax) == "JPEG2000Lossless (1.2.840.10008.1.2.4.90)"
    assert syntax.name == "JPEG 2000 Image Compression (Lossless Only)"
    assert "JPEG2000Lossless" in repr(syntax)


def test_frozen_and_hashable() -> None:
    syntax = resolve("ExplicitVRLittleEndian")
    with pytest.raises(dataclasses.FrozenInstanceError):
        syntax.uid = "1.2.3"  # type: ignore[misc]
    assert {syntax: 1}[resolve("1.2.840.10008.1.2.1")] == 1


def test_all_syntaxes_in_uid_order_and_unique() -> None:
    syntaxes = all_syntaxes()
    keys = [[int(p) for p in s.uid.split(".")] for s in syntaxes]
    assert keys == sorted(keys)
    assert len({s.uid for s in syntaxes}) == len(syntaxes)
    assert len({s.keyword for s in syntaxes}) == len(syntaxes)


PS3_6 = transfer_syntax_uids()


@pytest.mark.parametrize("info", [i for i in PS3_6 if not i.retired], ids=lambda i: i.keyword)
def test_every_current_ps3_6_syntax_resolves(info: UIDInfo) -> None:
    by_uid = resolve(info.uid)
    assert by_uid.keyword == info.keyword
    assert resolve(info.keyword) is by_uid
    assert not by_uid.is_retired


# Retired syntaxes of PS3.6 that dicomframe does not know: they carry no DICOM dataset
# dicomframe could read (a MIME package, an XML document).
NOT_KNOWN_RETIRED = {"RFC2557MIMEEncapsulation", "XMLEncoding"}


@pytest.mark.parametrize("info", [i for i in PS3_6 if i.retired], ids=lambda i: i.keyword)
def test_retired_ps3_6_syntaxes(info: UIDInfo) -> None:
    if info.keyword in NOT_KNOWN_RETIRED:
        with pytest.raises(UnknownTransferSyntaxError):
            resolve(info.uid)
        return
    syntax = resolve(info.uid)
    assert syntax.keyword == info.keyword
    assert syntax.is_retired


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a test register syntaxes without leaking them into the others."""
    monkeypatch.setattr(ts_module, "_BY_UID", dict(ts_module._BY_UID))
    monkeypatch.setattr(ts_module, "_BY_KEYWORD", dict(ts_module._BY_KEYWORD))


PRIVATE = TransferSyntax("1.2.826.0.1.3680043.9.9999.1", "AcmeLossless", is_encapsulated=True)


@pytest.mark.usefixtures("registry")
def test_register_private_syntax() -> None:
    with pytest.raises(UnknownTransferSyntaxError):
        resolve("AcmeLossless")
    assert register(PRIVATE) is PRIVATE
    assert resolve("AcmeLossless") is PRIVATE
    assert resolve("acmelossless") is PRIVATE
    assert resolve(PRIVATE.uid + "\0") is PRIVATE
    assert PRIVATE in all_syntaxes()
    assert register(PRIVATE) is PRIVATE  # again: harmless
    assert register(TransferSyntax(PRIVATE.uid, "AcmeLossless", is_encapsulated=True))


@pytest.mark.usefixtures("registry")
@pytest.mark.parametrize(
    "clash",
    [
        TransferSyntax(PRIVATE.uid, "AcmeOther", is_encapsulated=True),  # same UID
        TransferSyntax("1.2.826.0.1.3680043.9.9999.2", "AcmeLossless"),  # same keyword
        TransferSyntax(PRIVATE.uid, "AcmeLossless", is_encapsulated=True, is_lossy=True),
        TransferSyntax("1.2.840.10008.1.2.1", "NotExplicit"),  # a built-in UID
        TransferSyntax("1.2.826.0.1.3680043.9.9999.3", "JPEG2000Lossless"),  # a built-in keyword
    ],
    ids=["uid", "keyword", "facts", "builtin-uid", "builtin-keyword"],
)
def test_register_conflict(clash: TransferSyntax) -> None:
    register(PRIVATE)
    with pytest.raises(ValueError, match="already registered"):
        register(clash)
    # A refused syntax leaves the registry as it was.
    assert resolve(PRIVATE.uid) is PRIVATE
    assert resolve("AcmeLossless") is PRIVATE
    assert resolve("JPEG2000Lossless").uid == "1.2.840.10008.1.2.4.90"
    assert resolve("1.2.840.10008.1.2.1").keyword == "ExplicitVRLittleEndian"
    for half in (
        "AcmeOther",
        "NotExplicit",
        "1.2.826.0.1.3680043.9.9999.2",
        "1.2.826.0.1.3680043.9.9999.3",
    ):
        with pytest.raises(UnknownTransferSyntaxError):
            resolve(half)
