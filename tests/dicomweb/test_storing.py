"""store_dicomweb against Orthanc: several instances in one request, refusals raise."""

from __future__ import annotations

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.dicomweb import read_dicomweb, store_dicomweb
from dicomframe.errors import WriteError
from tests.dicomweb.conftest import CountingSession, new_uid
from tests.reference import TESTDATA


def renamed(name: str, study: str) -> dcf.Dataset:
    ds = dcf.read(TESTDATA / name)
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = study, new_uid(), new_uid()
    if ds.meta is not None and "MediaStorageSOPInstanceUID" in ds.meta:
        ds.meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def test_several_in_one_request(orthanc: str, session: CountingSession) -> None:
    study = new_uid()
    datasets = [renamed(n, study) for n in ("j2k_lossless.dcm", "ct_explicit_le.dcm")]
    response = store_dicomweb(datasets, orthanc, session=session)
    assert [m for m, _ in session.sent] == ["POST"]
    kept = {item.ReferencedSOPInstanceUID for item in response.ReferencedSOPSequence}
    assert kept == {ds.SOPInstanceUID for ds in datasets}
    for ds in datasets:
        back = read_dicomweb(
            orthanc, study, ds.SeriesInstanceUID, ds.SOPInstanceUID, session=session
        )
        np.testing.assert_array_equal(back.pixel_array, ds.pixel_array)


def test_implicit_vr_instance(orthanc: str, session: CountingSession) -> None:
    ds = renamed("ct_implicit_le.dcm", new_uid())
    store_dicomweb(ds, orthanc, session=session)
    back = read_dicomweb(
        orthanc, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID, session=session
    )
    np.testing.assert_array_equal(back.pixel_array, ds.pixel_array)


def test_refused_instance_raises(orthanc: str) -> None:
    ds = renamed("ct_explicit_le.dcm", new_uid())
    del ds["StudyInstanceUID"]  # Orthanc refuses an instance it cannot file
    with pytest.raises(WriteError, match="refused the store") as caught:
        store_dicomweb(ds, orthanc)
    assert caught.value.path == f"{orthanc}/studies"


def test_nothing_kept_raises(orthanc: str) -> None:
    ds = renamed("ct_explicit_le.dcm", new_uid())
    del ds["SOPInstanceUID"]
    with pytest.raises(WriteError, match="kept 0 of 1"):
        store_dicomweb(ds, orthanc)


def test_http_error_raises(orthanc: str) -> None:
    ds = renamed("ct_explicit_le.dcm", new_uid())
    with pytest.raises(WriteError, match="HTTP 404"):
        store_dicomweb(ds, orthanc.replace("/dicom-web", "/no-such-root"))
