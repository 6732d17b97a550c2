"""The two-way bridge to pydicom 3, and dicomframe's codecs as pydicom plugins.

``pip install dicomframe[pydicom]``. Importing this module imports pydicom;
importing :mod:`dicomframe` never does.

- :func:`from_pydicom` and :func:`to_pydicom` move a dataset across by its
  encoded bytes, so nothing is decoded or re-encoded on the way: each side
  decodes values lazily, as when it reads a file. The result is what the
  other library gives when it reads the same file: the same tags, VRs (each
  library's rules for Implicit VR, ambiguous VRs and UN), values, private
  elements and creators, nested sequences, file meta information, transfer
  syntax and character sets; pixel data, native or encapsulated, goes across
  as bytes and is never decoded.
- :func:`register_pydicom_plugins` makes dicomframe's codec registry a
  pydicom decoding and encoding plugin named ``"dicomframe"``:
  ``pds.pixel_array_options(decoding_plugin="dicomframe")`` and
  ``pds.compress(uid, encoding_plugin="dicomframe")``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

try:
    import pydicom as _pydicom
except ImportError as exc:  # pragma: no cover - the test environment has pydicom
    raise ImportError(
        "dicomframe.interop.pydicom needs pydicom 3: pip install dicomframe[pydicom]"
    ) from exc

from dicomframe.errors import DicomError
from dicomframe.interop import _pydicom_plugins
from dicomframe.interop._pydicom_read import from_pydicom as _from_pydicom
from dicomframe.interop._pydicom_write import to_pydicom as _to_pydicom

if TYPE_CHECKING:
    from dicomframe.core.dataset import Dataset
    from dicomframe.plugins.manager import CodecManager

__all__ = ["PLUGIN", "from_pydicom", "register_pydicom_plugins", "to_pydicom"]

PLUGIN = _pydicom_plugins.LABEL  # "dicomframe": the plugin's name in pydicom

if int(_pydicom.__version__.split(".")[0]) < 3:  # pragma: no cover - pinned by the extra
    raise DicomError(
        f"dicomframe.interop.pydicom needs pydicom 3, found {_pydicom.__version__}: "
        "pip install dicomframe[pydicom]"
    )


def from_pydicom(pds: _pydicom.Dataset) -> Dataset:
    """A dicomframe dataset holding what the pydicom dataset ``pds`` holds.

    Elements pydicom has not decoded go across as the bytes it read, and
    dicomframe reads them as :func:`dicomframe.read` reads the file; the rest
    are encoded by pydicom first, in their pydicom VRs. ``pds.file_meta``
    becomes ``ds.meta``, ``pds.preamble`` ``ds.preamble``, and the transfer
    syntax is the one the meta names (else the one the data is encoded in).

    Parameters
    ----------
    pds
        A pydicom ``Dataset`` or ``FileDataset`` (e.g. from ``pydicom.dcmread``).

    Returns
    -------
    Dataset
        A dataset equal to ``dicomframe.read`` of the file ``pds`` was read from.

    Raises
    ------
    InvalidDicomError
        When the bytes do not parse (as ``dicomframe.read`` would refuse them),
        or the meta names a transfer syntax dicomframe does not know.
    """
    return _from_pydicom(pds)


def to_pydicom(ds: Dataset) -> _pydicom.Dataset:
    """A pydicom dataset holding what the dicomframe dataset ``ds`` holds.

    A ``pydicom.FileDataset`` (``file_meta``, ``preamble``, as
    ``pydicom.dcmread`` returns) when ``ds`` has file meta information (read
    from a file, or given ``ds.meta``); a plain ``pydicom.Dataset`` otherwise.
    Elements go across as pydicom raw elements of their encoded bytes, which
    pydicom decodes on first use; values set in dicomframe are encoded by
    dicomframe first. In Implicit VR data pydicom chooses the VRs of unchanged
    elements as when it reads the file.

    Raises
    ------
    EncodingError
        When a value set in dicomframe cannot be encoded in its VR.
    """
    return _to_pydicom(ds)


def register_pydicom_plugins(
    codecs: CodecManager | None = None,
) -> tuple[list[str], list[str]]:
    """Register dicomframe's codecs with pydicom 3 as the plugin ``"dicomframe"``.

    The plugin is added to pydicom's decoder of every compressed transfer
    syntax that both pydicom and the registry know and the registry can
    decode, and to pydicom's encoder of every syntax the registry can encode
    and pydicom has an encoder for (RLE Lossless, JPEG-LS, JPEG 2000).
    Calling it again is harmless; the plugin then uses the registry given last.

    Parameters
    ----------
    codecs
        The registry to decode and encode with; None: dicomframe's default.

    Returns
    -------
    tuple of list of str
        The transfer syntax UIDs the plugin was registered for: decoding, encoding.
    """
    return _pydicom_plugins.register(codecs)
