"""read_dicomweb against Orthanc: what comes back equals the file that was stored.

Each file is stored with store_dicomweb (under UIDs of its own, since several
test files share theirs), read back, and compared with dcf.read of the same
file: the attributes the metadata carries, each frame's bytes as stored (so
the server sent the frame untouched, not transcoded), the decoded pixels,
and pydicom's decoding of the file as the independent oracle.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.dicomweb import read_dicomweb, store_dicomweb
from tests.dicomweb.conftest import CountingSession, new_uid
from tests.reference import TESTDATA, dataset_differences, pydicom_data_file, pydicom_files

_PYDICOM = {p.name: p for p in pydicom_files()}

COMPRESSED = [
    ("pydicom-data", "emri_small_jpeg_2k_lossless.dcm"),  # JPEG 2000, 10 frames
    ("pydicom", "JPEG2000.dcm"),
    ("testdata", "j2k_lossless.dcm"),
    ("pydicom-data", "emri_small_jpeg_ls_lossless.dcm"),  # JPEG-LS, 10 frames
    ("pydicom", "JPEGLSNearLossless_16.dcm"),
    ("pydicom-data", "emri_small_RLE.dcm"),  # RLE, 10 frames
    ("pydicom", "SC_rgb_rle_2frame.dcm"),
    ("testdata", "rle_multiframe.dcm"),
    ("pydicom", "SC_rgb_jpeg_dcmtk.dcm"),  # JPEG baseline
    ("pydicom", "JPEG-lossy.dcm"),  # JPEG extended, 12 bits
    ("testdata", "jpeg_lossless.dcm"),
]
NATIVE = [
    ("pydicom", "CT_small.dcm"),
    ("pydicom", "MR_small.dcm"),
    ("pydicom-data", "emri_small.dcm"),
    ("pydicom-data", "SC_rgb_2frame.dcm"),
    ("testdata", "mr_multiframe_uint16.dcm"),
    ("testdata", "rgb_planar1.dcm"),
]


def local_file(where: str, name: str) -> Path:
    if where == "pydicom":
        return _PYDICOM[name]
    if where == "pydicom-data":
        return pydicom_data_file(name)
    return TESTDATA / name


def stored_copy(path: Path, base: str) -> dcf.Dataset:
    """The file with new Study/Series/SOP Instance UIDs, stored on the server."""
    ds = dcf.read(path)
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = new_uid(), new_uid(), new_uid()
    if ds.meta is not None and "MediaStorageSOPInstanceUID" in ds.meta:
        ds.meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    response = store_dicomweb(ds, base)
    kept = [item.ReferencedSOPInstanceUID for item in response.ReferencedSOPSequence]
    assert kept == [ds.SOPInstanceUID]
    return ds


def read_back(ds: dcf.Dataset, base: str, session: CountingSession) -> dcf.Dataset:
    return read_dicomweb(
        base, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID, session=session
    )


def attribute_differences(remote: dcf.Dataset, local: dcf.Dataset) -> list[str]:
    """How the attributes the metadata carries differ from the file's."""
    carried = [t for t in remote.tags() if t.group not in (0x0002, 0x7FE0) and t != 0x00083002]
    missing = [t for t in carried if t not in local]
    assert not missing, f"the server added {missing}"
    subset = dcf.Dataset(local[t] for t in carried)
    return dataset_differences(dcf.Dataset(remote[t] for t in carried), subset)


@pytest.mark.parametrize(
    ("where", "name"), COMPRESSED + NATIVE, ids=[name for _, name in COMPRESSED + NATIVE]
)
def test_read_back_equals_file(
    orthanc: str, session: CountingSession, where: str, name: str
) -> None:
    path = local_file(where, name)
    local = stored_copy(path, orthanc)
    remote = read_back(local, orthanc, session)

    assert attribute_differences(remote, local) == []
    for keyword in (
        "SOPInstanceUID",
        "Rows",
        "Columns",
        "BitsAllocated",
        "PhotometricInterpretation",
    ):
        assert remote[keyword] == local[keyword]
    assert remote.pixel_data.is_encapsulated == local.pixel_data.is_encapsulated
    assert len(remote.pixel_data) == len(local.pixel_data)
    assert local.transfer_syntax is not None
    if local.transfer_syntax.is_encapsulated:
        assert remote.transfer_syntax == local.transfer_syntax
        for mine, theirs in zip(remote.pixel_data, local.pixel_data, strict=True):
            assert isinstance(mine, dcf.EncapsulatedFrame)
            assert mine.transfer_syntax == local.transfer_syntax
            # As stored: the codestream, without the padding byte of an odd one (PS3.5 A.4).
            assert bytes(mine.data).rstrip(b"\0") == bytes(theirs.data).rstrip(b"\0")
    else:
        assert all(isinstance(frame, dcf.NativeFrame) for frame in remote.pixel_data)
    np.testing.assert_array_equal(remote.pixel_array, local.pixel_array)


@pytest.mark.parametrize(
    ("where", "name"),
    [c for c in COMPRESSED + NATIVE if "jpeg" not in c[1].lower() or "2k" in c[1]],
    ids=lambda x: x,
)
def test_decoded_pixels_equal_pydicom(
    orthanc: str, session: CountingSession, where: str, name: str
) -> None:
    pydicom = pytest.importorskip("pydicom")
    path = local_file(where, name)
    remote = read_back(stored_copy(path, orthanc), orthanc, session)
    expected = pydicom.dcmread(path).pixel_array
    got = remote.pixel_array
    np.testing.assert_array_equal(got.reshape(expected.shape), expected)


@pytest.mark.parametrize(
    "name", ["emri_small_jpeg_2k_lossless.dcm", "emri_small_RLE.dcm", "emri_small.dcm"]
)
def test_only_frames_used_are_fetched(orthanc: str, session: CountingSession, name: str) -> None:
    local = stored_copy(pydicom_data_file(name), orthanc)
    remote = read_back(local, orthanc, session)
    before = session.frames_fetched()
    # The metadata names no transfer syntax (Orthanc sends none): frame 1 tells it, else nothing.
    assert set(before) <= {1}

    frame = remote.pixel_data[6]
    np.testing.assert_array_equal(frame.decode().array, local.pixel_data[6].decode().array)
    remote.pixel_data[6].decode()  # again: kept, not fetched twice
    assert session.frames_fetched() == [*before, 7]
    assert len(remote.pixel_data) == 10


def test_frames_fetched_through_the_session_given(orthanc: str, session: CountingSession) -> None:
    local = stored_copy(TESTDATA / "rle_multiframe.dcm", orthanc)
    remote = read_back(local, orthanc, session)
    remote.pixel_array  # noqa: B018 - every frame
    metadata = [url for _, url in session.sent if url.endswith("/metadata")]
    assert len(metadata) == 1
    assert sorted(set(session.frames_fetched())) == [1, 2, 3, 4, 5]


def test_missing_instance_raises(orthanc: str, session: CountingSession) -> None:
    requests = pytest.importorskip("requests")
    with pytest.raises(requests.HTTPError):
        read_dicomweb(orthanc, new_uid(), new_uid(), new_uid(), session=session)


def test_written_after_set_pixel_data(
    orthanc: str, session: CountingSession, tmp_path: Path
) -> None:
    local = stored_copy(pydicom_data_file("emri_small_jpeg_2k_lossless.dcm"), orthanc)
    remote = read_back(local, orthanc, session)
    remote.set_pixel_data(list(remote.pixel_data))
    dcf.write(remote, tmp_path / "copy.dcm")
    again = dcf.read(tmp_path / "copy.dcm")
    assert again.transfer_syntax == local.transfer_syntax
    np.testing.assert_array_equal(again.pixel_array, local.pixel_array)
