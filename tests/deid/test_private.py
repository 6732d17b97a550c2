"""Private elements: removed, or kept under Retain Safe Private when known safe."""

from __future__ import annotations

import dicomframe as dcf
from dicomframe.deid import verify_deidentified
from tests.deid.helpers import SALT, read

SAFE = "ACME SAFE"
MIXED = "ACME MIXED"


def _with_private() -> dcf.Dataset:
    ds = read("MR_small.dcm")
    for element in [e for e in ds if e.tag.group & 1]:
        del ds[element.tag]
    ds.add(dcf.DataElement(0x00090010, "LO", SAFE))
    ds.add(dcf.DataElement(0x00091001, "DS", "1.5"))
    ds.add(dcf.DataElement(0x00090011, "LO", MIXED))
    ds.add(dcf.DataElement(0x00091101, "LO", "a number"))
    ds.add(dcf.DataElement(0x00091102, "LO", "Doe^John"))
    ds.add(dcf.DataElement(0x00110010, "LO", "OTHER"))
    ds.add(dcf.DataElement(0x00111001, "LO", "secret"))

    def block(creator: str, status: str, listed: list[int] | None = None) -> dcf.Dataset:
        item = dcf.Dataset([
            dcf.DataElement(0x00080301, "US", 0x0009),
            dcf.DataElement(0x00080302, "LO", creator),
            dcf.DataElement(0x00080303, "CS", status),
        ])  # fmt: skip
        if listed is not None:
            item.add(dcf.DataElement(0x00080304, "US", listed))
        return item

    ds.add(dcf.DataElement(0x00080300, "SQ", [block(SAFE, "SAFE"), block(MIXED, "MIXED", [0x01])]))
    return ds


def test_basic_profile_removes_every_private_element() -> None:
    ds = _with_private()
    out = dcf.deidentify(ds, salt=SALT)
    assert not [e for e in out if e.tag.group & 1]
    assert verify_deidentified(ds, out, salt=SALT) == []


def test_retain_safe_private_keeps_what_the_dataset_declares_safe() -> None:
    ds = _with_private()
    out = dcf.deidentify(ds, salt=SALT, options=["retain-safe-private"])
    kept = {int(e.tag) for e in out if e.tag.group & 1}
    assert kept == {0x00090010, 0x00091001, 0x00090011, 0x00091101}
    assert out[0x00091001] == ds[0x00091001]
    assert verify_deidentified(ds, out, salt=SALT, options=["retain-safe-private"]) == []
    # The same output judged without the option: the kept elements are breaches.
    problems = verify_deidentified(ds, out, salt=SALT)
    assert len([p for p in problems if p.endswith("private element kept")]) == 4


def test_caller_list_of_safe_elements() -> None:
    ds = _with_private()
    safe = [(0x0011, "OTHER", 0x01)]
    out = dcf.deidentify(ds, salt=SALT, options=["retain-safe-private"], safe_private=safe)
    assert out[0x00111001].value == "secret"
    assert out[0x00110010].value == "OTHER"
    without = dcf.deidentify(ds, salt=SALT, options=["retain-safe-private"])
    assert 0x00111001 not in without


def test_private_elements_inside_sequences_are_removed() -> None:
    ds = read("priv_SQ.dcm")
    assert any(e.tag.group & 1 for e in ds)
    out = dcf.deidentify(ds, salt=SALT)
    assert not any(e.tag.group & 1 for e in out)
