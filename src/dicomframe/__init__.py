"""dicomframe: DICOM pixel data as lean, flat, typed frames, with codecs as plugins.

The names below are the public API. Importing this package loads the core
data model only: no codec backend and no plugin is imported until a codec is
first needed, and numpy not until pixel data is (the frame classes load on
first use), so a task that reads headers only never pays for it.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from dicomframe._version import __version__
from dicomframe._wiring import wire as _wire
from dicomframe.core.dataset import Dataset, Sequence
from dicomframe.core.element import DataElement
from dicomframe.core.limits import Limits
from dicomframe.core.reader import iter_elements, read
from dicomframe.core.tag import Tag
from dicomframe.core.transfer_syntax import TransferSyntax
from dicomframe.core.vr import VR
from dicomframe.core.writer import write
from dicomframe.errors import (
    CharsetWarning,
    CodecError,
    CodecFallbackWarning,
    CodecUnavailableError,
    DecodeError,
    DeidentificationError,
    DicomError,
    DicomWarning,
    EncodeError,
    EncodingError,
    ImageModeError,
    InvalidDicomError,
    LimitError,
    MissingDependencyError,
    NoCodecError,
    PluginError,
    PluginWarning,
    RepairWarning,
    SourceChangedError,
    UnknownTransferSyntaxError,
    WriteError,
)

_wire()  # the core decodes with the default codec manager unless given another

if TYPE_CHECKING:
    from PIL import Image

    from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.pixel_data import PixelData
    from dicomframe.dicomdir import FileSet
    from dicomframe.plugins.manager import CodecStatus


# Public names whose modules import numpy: loaded on first access (PEP 562).
_ON_FIRST_USE = {
    "EncapsulatedFrame": "dicomframe.core.frame",
    "NativeFrame": "dicomframe.core.frame",
    "FrameInfo": "dicomframe.core.frame_info",
    "PixelData": "dicomframe.core.pixel_data",
    "FileSet": "dicomframe.dicomdir",
}


def __getattr__(name: str) -> Any:
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module 'dicomframe' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_ON_FIRST_USE})


def transcode(ds: Dataset, transfer_syntax: str | TransferSyntax, /, **options: Any) -> Dataset:
    """Return a copy of ``ds`` in another transfer syntax; see :mod:`dicomframe.transcoding`."""
    from dicomframe.transcoding import transcode as _transcode

    return _transcode(ds, transfer_syntax, **options)


def transcode_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    transfer_syntax: str | TransferSyntax,
    /,
    **options: Any,
) -> None:
    """Transcode a file frame by frame, in the memory of a few frames.

    See :mod:`dicomframe.streaming`.
    """
    from dicomframe.streaming import transcode_file as _transcode_file

    _transcode_file(src, dst, transfer_syntax, **options)


def get_image(frame: Any, /, **options: Any) -> Image.Image:
    """One frame as a Pillow image, values kept or rendered.

    See :func:`dicomframe.imaging.get_image`.
    """
    from dicomframe.imaging import get_image as _get_image

    return _get_image(frame, **options)


def to_frame(
    image_or_array: Any, transfer_syntax: str | TransferSyntax, /, **options: Any
) -> NativeFrame | EncapsulatedFrame:
    """The inverse of :func:`get_image`; see :func:`dicomframe.imaging.to_frame`."""
    from dicomframe.imaging import to_frame as _to_frame

    return _to_frame(image_or_array, transfer_syntax, **options)


def deidentify(ds: Dataset, /, **options: Any) -> Dataset:
    """A de-identified copy of ``ds`` by PS3.15 Annex E (Table E.1-1 and its options).

    ``dcf.deidentify(ds, options=("retain-uids",), salt=b"secret")``; see
    :func:`dicomframe.deid.deidentify_with_report` for every option and the report.
    """
    from dicomframe.deid import deidentify as _deidentify

    return _deidentify(ds, **options)


def read_dicomdir(path: str | os.PathLike[str], /, **options: Any) -> FileSet:
    """The File-set a DICOMDIR describes: its records in hierarchy order, each file's path.

    See :func:`dicomframe.dicomdir.read_dicomdir`.
    """
    from dicomframe.dicomdir import read_dicomdir as _read_dicomdir

    return _read_dicomdir(path, **options)


def read_dicomweb(
    base_url: str, study_uid: str, series_uid: str, sop_uid: str, /, **options: Any
) -> Dataset:
    """One instance from a DICOMweb server: WADO-RS metadata now, each frame on first use.

    Frames arrive as stored (``transfer-syntax=*``) and decode through the
    codec registry. See :func:`dicomframe.dicomweb.read_dicomweb`.
    """
    from dicomframe.dicomweb import read_dicomweb as _read_dicomweb

    return _read_dicomweb(base_url, study_uid, series_uid, sop_uid, **options)


def store_dicomweb(ds_or_datasets: Any, base_url: str, /, **options: Any) -> Dataset:
    """Send one dataset or several to a DICOMweb server with STOW-RS; return its response.

    See :func:`dicomframe.dicomweb.store_dicomweb`.
    """
    from dicomframe.dicomweb import store_dicomweb as _store_dicomweb

    return _store_dicomweb(ds_or_datasets, base_url, **options)


def list_codecs() -> list[CodecStatus]:
    """Every registered codec and whether it can be used.

    Each row has the codec (name, transfer syntaxes, decode/encode), its plugin
    and version, and whether it is available or why not (e.g. which package to
    install). Loads the codec plugins on first call, never at import.
    """
    from dicomframe.plugins.manager import default_manager

    return default_manager().codecs()


__all__ = [
    "VR",
    "CharsetWarning",
    "CodecError",
    "CodecFallbackWarning",
    "CodecUnavailableError",
    "DataElement",
    "Dataset",
    "DecodeError",
    "DeidentificationError",
    "DicomError",
    "DicomWarning",
    "EncapsulatedFrame",
    "EncodeError",
    "EncodingError",
    "FileSet",
    "FrameInfo",
    "ImageModeError",
    "InvalidDicomError",
    "LimitError",
    "Limits",
    "MissingDependencyError",
    "NativeFrame",
    "NoCodecError",
    "PixelData",
    "PluginError",
    "PluginWarning",
    "RepairWarning",
    "Sequence",
    "SourceChangedError",
    "Tag",
    "TransferSyntax",
    "UnknownTransferSyntaxError",
    "WriteError",
    "__version__",
    "deidentify",
    "get_image",
    "iter_elements",
    "list_codecs",
    "read",
    "read_dicomdir",
    "read_dicomweb",
    "store_dicomweb",
    "to_frame",
    "transcode",
    "transcode_file",
    "write",
]
