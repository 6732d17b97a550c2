"""store_dicomweb: instances to a DICOMweb server with STOW-RS (PS3.18 10.5).

Each dataset is written as a DICOM Part 10 file in memory
(:func:`dicomframe.write`, in its own transfer syntax, so nothing is
re-encoded on the way) and the files are sent in one request as
``multipart/related; type="application/dicom"``. The server answers with a
Store Instances Response (PS3.18 10.5.3) in the DICOM JSON model: the
instances it kept (Referenced SOP Sequence) and those it refused (Failed SOP
Sequence, each with a Failure Reason). Any refusal raises, naming the
instance and the reason, and so does a response that lists fewer instances
kept than were sent; the response is returned as a dataset otherwise.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING

from dicomframe.core.dataset import Dataset
from dicomframe.core.json_reading import from_json
from dicomframe.core.limits import resolve_limits
from dicomframe.core.writer import write
from dicomframe.dicomweb.http import post, session_or_new
from dicomframe.dicomweb.multipart import build_multipart
from dicomframe.errors import DicomError, WriteError

if TYPE_CHECKING:
    import requests

__all__ = ["store_dicomweb"]

_FAILED_SOPS, _REFERENCED_SOPS = 0x00081198, 0x00081199
_SOP_INSTANCE_UID, _FAILURE_REASON = 0x00081155, 0x00081197
_RESPONSE_LIMIT = ("max_stream_bytes", 64 << 20)


def store_dicomweb(
    ds_or_datasets: Dataset | Iterable[Dataset],
    base_url: str,
    *,
    session: requests.Session | None = None,
) -> Dataset:
    """Store one dataset or several on a DICOMweb server (STOW-RS), in one request.

    Parameters
    ----------
    ds_or_datasets
        A dataset, or datasets; each is sent in the transfer syntax it has.
    base_url
        The server's DICOMweb root; instances are POSTed to ``{base_url}/studies``.
    session
        A ``requests.Session`` to send the request through; default a new one.

    Returns
    -------
    Dataset
        The server's Store Instances Response: Referenced SOP Sequence
        (0008,1199) lists what it kept. Empty when the server sent no body.

    Raises
    ------
    WriteError
        When the server refused any instance (its Failed SOP Sequence, with
        the reasons) or the whole request (an HTTP error status).
    EncodingError
        When a dataset cannot be written.
    """
    datasets = [ds_or_datasets] if isinstance(ds_or_datasets, Dataset) else list(ds_or_datasets)
    body, content_type = build_multipart((_part10(ds) for ds in datasets), "application/dicom")
    url = f"{base_url.rstrip('/')}/studies"
    response = post(
        session_or_new(session),
        url,
        body,
        headers={"Content-Type": content_type, "Accept": "application/dicom+json"},
        limit=(_RESPONSE_LIMIT[0], min(_RESPONSE_LIMIT[1], resolve_limits(None).max_stream_bytes)),
    )
    result = _response_dataset(response.body)
    failures = _failures(result)
    kept = len(result[_REFERENCED_SOPS].sequence) if _REFERENCED_SOPS in result else None
    if not failures and kept is not None and kept < len(datasets):
        failures = [f"the server kept {kept} of {len(datasets)} instances, naming no reason"]
    if failures or response.status >= 400:
        detail = "; ".join(failures) or response.body[:200].decode("utf-8", "replace")
        raise WriteError(f"{url} refused the store (HTTP {response.status}): {detail}", path=url)
    return result


def _part10(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    write(ds, buffer)
    return buffer.getvalue()


def _response_dataset(body: bytes) -> Dataset:
    if not body.strip():
        return Dataset()
    try:
        result: Dataset = from_json(body, bulk_data_uri_handler=lambda uri: None)
    except DicomError:
        return Dataset()  # not a Store Instances Response (an HTML error page): status tells
    return result


def _failures(result: Dataset) -> list[str]:
    """Each refused instance as "UID: reason" (PS3.18 Table 10.5.3-1, PS3.4 Annex GG)."""
    if _FAILED_SOPS not in result:
        return []
    failures = []
    for item in result[_FAILED_SOPS].sequence:
        reason = item.get(_FAILURE_REASON)
        failures.append(f"{item.get(_SOP_INSTANCE_UID)}: failure reason {reason}")
    return failures
