"""read_dicomweb: one instance from a DICOMweb server, its frames fetched when first used.

The dataset is built from the instance's WADO-RS metadata (PS3.18 10.4, the
DICOM JSON model of PS3.18 Annex F) and holds no pixel bytes. Frame ``i`` is
fetched the first time it is asked for, with WADO-RS ``/frames/{i + 1}`` and

    Accept: multipart/related; type="application/octet-stream"; transfer-syntax=*

which asks the server to send the frame as it is stored (PS3.18 8.7.3.5):
never transcoded, so a JPEG 2000 frame arrives as the same codestream the
file holds and is decoded here, by the codec registry, like a frame read
from a file. Each response part's Content-Type names the frame's transfer
syntax; a frame that comes back in another encapsulated syntax than the
instance's raises rather than being decoded as something it is not.

The instance's transfer syntax (``ds.transfer_syntax``) is the stored one:
the metadata's Transfer Syntax UID (0002,0010) or Available Transfer Syntax
UID (0008,3002) when the server sends them, else the syntax the first
frame arrives in, which is then fetched while reading (and kept).

Other bulk data (BulkDataURI values other than Pixel Data, such as overlay
planes or LUTs) is fetched while the dataset is built, since the JSON model
must hand the reader each value's bytes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from dicomframe.core.dataset import Dataset
from dicomframe.core.element import DataElement
from dicomframe.core.frame_info import PIXEL_KEYWORDS
from dicomframe.core.json_reading import from_json
from dicomframe.core.limits import Limits, resolve_limits
from dicomframe.core.pixel_data import provide_frames
from dicomframe.core.transfer_syntax import TransferSyntax, resolve
from dicomframe.core.vr import VR
from dicomframe.dicomweb.http import get, session_or_new
from dicomframe.dicomweb.multipart import media_type, parse_multipart
from dicomframe.errors import InvalidDicomError

if TYPE_CHECKING:
    import requests

__all__ = ["FRAME_ACCEPT", "FrameFetcher", "read_dicomweb"]

FRAME_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
_BULK_ACCEPT = 'multipart/related; type="application/octet-stream"'
_PIXEL_DATA, _ROWS, _BITS_ALLOCATED = 0x7FE00010, 0x00280010, 0x00280100
_AVAILABLE_SYNTAX = 0x00083002
# Enough for any part headers and boundaries around a frame's bytes.
_ENVELOPE = 64 << 10
# PS3.18 Table 8.7.3-2: the transfer syntax a frame media type means when it names none.
_DEFAULT_SYNTAX = {
    "application/octet-stream": "1.2.840.10008.1.2.1",
    "image/jpeg": "1.2.840.10008.1.2.4.70",
    "image/jls": "1.2.840.10008.1.2.4.80",
    "image/jp2": "1.2.840.10008.1.2.4.90",
    "image/jphc": "1.2.840.10008.1.2.4.201",
    "image/dicom-rle": "1.2.840.10008.1.2.5",
}


def read_dicomweb(
    base_url: str,
    study_uid: str,
    series_uid: str,
    sop_uid: str,
    *,
    session: requests.Session | None = None,
    limits: Limits | None = None,
) -> Dataset:
    """Read one instance from a DICOMweb server; its frames are fetched when first used.

    Parameters
    ----------
    base_url
        The server's DICOMweb root, e.g. ``"https://pacs.example/dicom-web"``.
    study_uid, series_uid, sop_uid
        The instance's Study, Series and SOP Instance UIDs.
    session
        A ``requests.Session`` to send every request through (authentication,
        retries, certificates); default a new one.
    limits
        Bound the metadata (``max_stream_bytes``) and each fetched frame
        (``max_frame_bytes``) as well as the decoding; default the default limits.

    Returns
    -------
    Dataset
        Its attributes from the metadata; ``ds.pixel_data[i]`` is an
        ``EncapsulatedFrame`` in the stored transfer syntax (decoded by the
        codec registry) or a ``NativeFrame``, fetched on first use and kept.
        The Pixel Data element holds no bytes: to write the dataset, give it
        its frames first (``ds.set_pixel_data(list(ds.pixel_data))``).

    Raises
    ------
    requests.HTTPError
        When the server answers with an error (no such instance, no access).
    InvalidDicomError
        When the metadata is not one DICOM JSON object, or a frame arrives in
        another transfer syntax than the stored one.
    LimitError
        When a response is larger than ``limits`` allow.
    """
    http = session_or_new(session)
    resolved = resolve_limits(limits)
    instance = f"{base_url.rstrip('/')}/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}"
    response = get(
        http,
        f"{instance}/metadata",
        accept="application/dicom+json",
        limit=("max_stream_bytes", resolved.max_stream_bytes),
        what=f"metadata of {sop_uid}",
    )
    ds: Dataset = from_json(
        _one_model(response.body, sop_uid),
        bulk_data_uri_handler=_BulkData(http, instance, resolved),
        limits=resolved,
    )
    ds.limits = resolved
    if _ROWS in ds:
        fetcher = FrameFetcher(http, instance, resolved)
        ds.transfer_syntax = _stored_syntax(ds, fetcher)
        fetcher.expect(ds.transfer_syntax)
        _pixel_placeholder(ds, ds.transfer_syntax)
        provide_frames(ds, fetcher)
    return ds


def _one_model(body: bytes, sop_uid: str) -> dict[str, Any]:
    """The instance's object: WADO-RS metadata is an array of one per instance."""
    try:
        models = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidDicomError(f"metadata of {sop_uid} is not JSON: {exc}") from exc
    if isinstance(models, list) and len(models) == 1 and isinstance(models[0], dict):
        return models[0]
    count = len(models) if isinstance(models, list) else "no array of"
    raise InvalidDicomError(f"metadata of {sop_uid}: expected one instance's object, got {count}")


class _BulkData:
    """Fetches a BulkDataURI's bytes; Pixel Data is left to the frames, fetched on demand."""

    def __init__(self, http: requests.Session, instance: str, limits: Limits) -> None:
        self._http = http
        self._instance = instance
        self._limits = limits

    def __call__(self, tag: str, vr: str, uri: str) -> bytes | None:
        if int(tag, 16) in PIXEL_KEYWORDS:
            return None
        response = get(
            self._http,
            urljoin(self._instance + "/", uri),
            accept=_BULK_ACCEPT,
            limit=("max_frame_bytes", self._limits.max_frame_bytes + _ENVELOPE),
            what=f"bulk data of ({tag[:4]},{tag[4:]})",
        )
        if not response.content_type.lower().startswith("multipart/"):
            return response.body
        parts = parse_multipart(response.content_type, response.body)
        if not parts:
            raise InvalidDicomError(f"bulk data at {uri!r} came back empty", tag=int(tag, 16))
        return bytes(parts[0].body)


class FrameFetcher:
    """Frame ``i`` of one instance, fetched with WADO-RS on first use and kept.

    Called by the dataset's pixel data (:func:`~dicomframe.core.pixel_data.provide_frames`)
    with a 0-based index; asks the server for frame ``i + 1`` as stored.
    """

    def __init__(self, http: requests.Session, instance: str, limits: Limits) -> None:
        self._http = http
        self._instance = instance
        self._limits = limits
        self._frames: dict[int, tuple[str, memoryview]] = {}
        self._expected: TransferSyntax | None = None

    def expect(self, syntax: TransferSyntax) -> None:
        """Refuse frames that arrive in another encapsulated syntax than ``syntax``."""
        self._expected = syntax

    def part(self, index: int) -> tuple[str, memoryview]:
        """Frame ``index``'s transfer syntax UID and bytes, as the server sent them."""
        if index not in self._frames:
            self._frames[index] = self._fetch(index)
        return self._frames[index]

    def __call__(self, index: int) -> memoryview:
        """Frame ``index``'s bytes, checked to be in the instance's stored syntax."""
        uid, data = self.part(index)
        expected = self._expected
        if expected is None:
            return data
        syntax = resolve(uid)
        same = uid == expected.uid
        if not same and (expected.is_encapsulated or not _plain_native(syntax)):
            raise InvalidDicomError(
                f"frame {index} arrived as {syntax.keyword} ({uid}), but the instance is "
                f"stored as {expected.keyword}: the server changed it",
                tag=_PIXEL_DATA,
            )
        return data

    def _fetch(self, index: int) -> tuple[str, memoryview]:
        response = get(
            self._http,
            f"{self._instance}/frames/{index + 1}",
            accept=FRAME_ACCEPT,
            limit=("max_frame_bytes", self._limits.max_frame_bytes + _ENVELOPE),
            what=f"frame {index}",
        )
        parts = parse_multipart(response.content_type, response.body)
        if len(parts) != 1:
            raise InvalidDicomError(
                f"frame {index}: expected one part, the server sent {len(parts)}", tag=_PIXEL_DATA
            )
        kind, parameters = media_type(parts[0].content_type)
        uid = parameters.get("transfer-syntax") or _DEFAULT_SYNTAX.get(kind)
        if uid is None:
            raise InvalidDicomError(
                f"frame {index} arrived as {kind!r} without a transfer-syntax parameter",
                tag=_PIXEL_DATA,
            )
        return uid, parts[0].body


def _plain_native(syntax: TransferSyntax) -> bool:
    """Native little-endian pixels: the same frame bytes whatever the VR encoding."""
    return not syntax.is_encapsulated and syntax.is_little_endian and not syntax.is_deflated


def _stored_syntax(ds: Dataset, fetcher: FrameFetcher) -> TransferSyntax:
    """The syntax the instance is stored in: from the metadata, else from its first frame."""
    if ds.transfer_syntax is not None:  # (0002,0010) in the metadata
        return ds.transfer_syntax
    available = ds.get(_AVAILABLE_SYNTAX)
    if isinstance(available, str) and available.strip():
        return resolve(available.strip())
    uid, _ = fetcher.part(0)
    return resolve(uid)


def _pixel_placeholder(ds: Dataset, syntax: TransferSyntax) -> None:
    """A Pixel Data element without bytes, encapsulated or not as the stored syntax says."""
    tag = next((t for t in PIXEL_KEYWORDS if t in ds), _PIXEL_DATA)
    if tag != _PIXEL_DATA:  # Float / Double Float Pixel Data keep their own VR
        vr = ds[tag].vr
    elif syntax.is_encapsulated or int(ds.get(_BITS_ALLOCATED) or 8) <= 8:
        vr = VR.OB
    else:
        vr = VR.OW
    ds[tag] = DataElement(tag, vr, raw=b"", undefined_length=syntax.is_encapsulated)
