"""The engine against Table E.1-1, read independently, on pydicom's test files."""

from __future__ import annotations

import copy
import io

import pytest

import dicomframe as dcf
from dicomframe.deid import deidentify_with_report, verify_deidentified
from tests.deid.helpers import (
    SALT,
    expected_uid,
    find,
    iod_type,
    one_action,
    read,
    row_for,
    walk,
)

FILES = [
    "CT_small.dcm",
    "MR_small.dcm",
    "rtplan.dcm",
    "rtstruct.dcm",
    "rtdose.dcm",
    "JPEG2000.dcm",
    "test-SR.dcm",
    "reportsi.dcm",
    "examples_overlay.dcm",
    "nested_priv_SQ.dcm",
    "waveform_ecg.dcm",
]
DUMMIES = {"19000101", "000000", "19000101000000", "ANONYMOUS", "000Y", "0"}


def _empty(element: dcf.DataElement) -> bool:
    if element.vr == "SQ":
        return len(element.sequence) == 0
    return element.value in (None, "", b"", [])


@pytest.mark.parametrize("name", FILES)
def test_every_listed_attribute_is_acted_on(name: str) -> None:
    ds = read(name)
    out = dcf.deidentify(ds, salt=SALT)
    checked = 0
    for path, element in walk(ds):
        tag = element.tag
        if tag.group & 1:
            assert find(out, path, tag) is None, f"private {tag} kept"
            checked += 1
            continue
        row = row_for(tag)
        if row is None or (not path and tag in (0x00120062, 0x00120063, 0x00120064, 0x00280303)):
            continue
        # An element inside a sequence that was removed or emptied is gone with it.
        if path and find(out, path[:-2], path[-2]) is None:  # type: ignore[arg-type]
            continue
        action = one_action(row.basic, element.vr, iod_type(ds, path, tag))
        new = find(out, path, tag)
        checked += 1
        if action == "X":
            assert new is None, f"{tag} at {path} should be removed"
        elif action == "Z":
            assert new is not None
            assert _empty(new), f"{tag} at {path} should be empty"
        elif action in ("U", "D") and element.vr == "UI":
            assert new is not None
            olds = element.value if isinstance(element.value, list) else [element.value]
            news = new.value if isinstance(new.value, list) else [new.value]
            assert news == [expected_uid(str(u)) for u in olds if str(u)]
        elif action == "D" and element.vr != "SQ":
            assert new is not None
            assert not _empty(new)
            assert str(new.value) in DUMMIES, f"{tag}: {new.value!r} is no dummy"
        else:  # K (a sequence walked), D on a sequence: present with the same items
            assert new is not None
    assert checked > 0, f"{name} has no attribute the table lists"


@pytest.mark.parametrize("name", FILES)
def test_input_is_left_as_it_was(name: str) -> None:
    ds = read(name)
    before = copy.deepcopy(ds)
    dcf.deidentify(ds, salt=SALT, options=["retain-longitudinal-modified-dates"])
    assert ds == before
    assert ds.meta == before.meta


@pytest.mark.parametrize("name", FILES)
def test_verification_passes_and_catches_a_restored_value(name: str) -> None:
    ds = read(name)
    out = dcf.deidentify(ds, salt=SALT)
    assert verify_deidentified(ds, out, salt=SALT) == []
    # Put one removed or replaced value back: the check must notice.
    out.PatientName = str(ds.get("PatientName") or "Doe^John")
    out.PatientIdentityRemoved = "NO"
    problems = verify_deidentified(ds, out, salt=SALT)
    assert any("Patient Identity Removed" in p for p in problems)


def test_deidentification_attributes() -> None:
    out = dcf.deidentify(read("CT_small.dcm"), salt=SALT, options=["retain-uids", "clean-graphics"])
    assert out.PatientIdentityRemoved == "YES"
    codes = [
        (i.CodeValue, i.CodingSchemeDesignator) for i in out.DeidentificationMethodCodeSequence
    ]
    assert codes == [("113100", "DCM"), ("113110", "DCM"), ("113103", "DCM")]
    assert out.DeidentificationMethod[1:] == ["Retain UIDs Option", "Clean Graphics Option"]
    assert out.LongitudinalTemporalInformationModified == "REMOVED"


def test_type_2_attributes_are_emptied_not_removed() -> None:
    out = dcf.deidentify(read("CT_small.dcm"), salt=SALT)
    for keyword in ("PatientName", "PatientBirthDate", "StudyDate", "AccessionNumber"):
        assert keyword in out
        assert _empty(out[keyword])


def test_meta_follows_the_new_sop_instance_uid() -> None:
    ds = read("CT_small.dcm")
    out = dcf.deidentify(ds, salt=SALT)
    assert out.meta is not None
    assert out.meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    assert out.SOPInstanceUID == expected_uid(ds.SOPInstanceUID)


def test_report_hashes_old_values_and_never_holds_them() -> None:
    ds = read("CT_small.dcm")
    result = deidentify_with_report(ds, salt=SALT)
    text = result.csv()
    assert str(ds.PatientName) not in text
    assert ds.SOPInstanceUID not in text
    by_keyword = {r.keyword: r for r in result.actions}
    assert by_keyword["PatientName"].action == "Z"
    assert by_keyword["SOPInstanceUID"].action == "U"
    assert len(by_keyword["PatientName"].old_hash) == 16
    assert any(r.note == "private" and r.action == "X" for r in result.actions)
    assert result.salt_was_random is False


def test_report_paths_reach_into_sequences() -> None:
    result = deidentify_with_report(read("rtplan.dcm"), salt=SALT)
    nested = [r for r in result.actions if "[" in r.path]
    assert nested, "no action recorded inside a sequence"
    assert all(r.path.endswith(str(r.tag)) for r in nested)


def test_burned_in_annotation_is_recorded() -> None:
    ds = read("CT_small.dcm")
    assert deidentify_with_report(ds, salt=SALT).burned_in_annotation is None
    ds.BurnedInAnnotation = "YES"
    assert deidentify_with_report(ds, salt=SALT).burned_in_annotation == "YES"


def test_overlay_goes_with_its_data_and_stays_under_clean_graphics() -> None:
    ds = read("examples_overlay.dcm")
    assert ds.group(0x6000)
    assert not dcf.deidentify(ds, salt=SALT).group(0x6000)
    kept = dcf.deidentify(ds, salt=SALT, options=["clean-graphics"])
    assert kept[0x60003000] == ds[0x60003000]


def test_values_set_last() -> None:
    out = dcf.deidentify(read("CT_small.dcm"), salt=SALT, values={"PatientID": "SUBJ-01"})
    assert out.PatientID == "SUBJ-01"


def test_output_is_deterministic_for_one_salt() -> None:
    ds = read("MR_small.dcm")
    first, second = io.BytesIO(), io.BytesIO()
    dcf.write(dcf.deidentify(ds, salt=SALT), first)
    dcf.write(dcf.deidentify(ds, salt=SALT), second)
    assert first.getvalue() == second.getvalue()
    other = dcf.deidentify(ds, salt=b"another")
    assert other.SOPInstanceUID != dcf.deidentify(ds, salt=SALT).SOPInstanceUID


def test_without_a_salt_each_call_is_unlinkable() -> None:
    ds = read("MR_small.dcm")
    one, two = deidentify_with_report(ds), deidentify_with_report(ds)
    assert one.salt_was_random
    assert two.salt_was_random
    assert one.dataset.SOPInstanceUID != two.dataset.SOPInstanceUID


def test_bad_arguments() -> None:
    ds = read("MR_small.dcm")
    with pytest.raises(ValueError, match="unknown de-identification option"):
        dcf.deidentify(ds, options=["retain-everything"])
    with pytest.raises(ValueError, match="exclude each other"):
        dcf.deidentify(
            ds,
            options=["retain-longitudinal-full-dates", "retain-longitudinal-modified-dates"],
        )
    with pytest.raises(ValueError, match="salt is empty"):
        dcf.deidentify(ds, salt=b"")
