"""Decoders and encoders that are not dicomframe's, for the interop tests.

:func:`peer_decoded` reads a file dicomframe wrote with the first peer that handles its
transfer syntax, and returns its pixels, ``(frames, rows, columns[, 3])``, with the
Photometric Interpretation they are in. No dicomframe code reads the file or its frames:

- DCMTK decompresses JPEG (``dcmdjpeg +cn``: no colour conversion), RLE and JPEG-LS, and
  parses the native syntaxes (``dcmconv +te``: DCMTK reads our file and writes it again as
  Explicit VR Little Endian, swapping big-endian data in the unit of its VR);
- GDCM decompresses JPEG 2000 (``gdcmconv --raw``; it will not write a multi-frame Secondary
  Capture, which pydicom decodes instead);
- pydicom decodes HTJ2K (its pylibjpeg plugin);
- for the syntaxes none of them decodes (JPEG 2000 Part 2 lossy, JPEG XL, Encapsulated
  Uncompressed, Deflated Image Frame Compression), pydicom splits the fragments and each frame
  is decoded by the backend library called directly (OpenJPEG through pylibjpeg-openjpeg,
  libjxl through imagecodecs, zlib) or read as raw little-endian samples. JPEG XL has no
  second decoder here, so the libjxl check covers dicomframe's encapsulation, sign and colour
  rules, not libjxl itself.

Each reader's result is then read by pydicom with ``as_rgb=False``.

:data:`PEER_ENCODERS` are DCMTK's and GDCM's compressors, for the other direction.
"""

from __future__ import annotations

import subprocess
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dicomframe.core.frame_info import FrameInfo
from dicomframe.core.transfer_syntax import TransferSyntax
from tests.reference import require_tool

Array = np.ndarray[Any, Any]

_DCMTK = {
    **dict.fromkeys(("JPEGBaseline8Bit", "JPEGExtended12Bit"), ("dcmdjpeg", "+cn")),
    **dict.fromkeys(("JPEGLossless", "JPEGLosslessSV1"), ("dcmdjpeg", "+cn")),
    "RLELossless": ("dcmdrle",),
    **dict.fromkeys(("JPEGLSLossless", "JPEGLSNearLossless"), ("dcmdjpls",)),
    **dict.fromkeys(
        ("ExplicitVRLittleEndian", "ImplicitVRLittleEndian", "ExplicitVRBigEndian"),
        ("dcmconv", "+te"),
    ),
}
_GDCM = {"JPEG2000Lossless", "JPEG2000", "JPEG2000MCLossless"}
_PYDICOM = {"HTJ2KLossless", "HTJ2KLosslessRPCL", "HTJ2K", "JPEG2000Lossless", "JPEG2000"}
_JPEGXL = {"JPEGXLLossless", "JPEGXLJPEGRecompression", "JPEGXL"}


@dataclass(frozen=True)
class Decoded:
    """A peer's decode: pixels, what they are, and who decoded them."""

    array: Array
    photometric: str
    peer: str


def peer_decoded(path: Path, target: TransferSyntax, out: Path) -> Decoded:
    """``path`` (a file dicomframe wrote in ``target``) decoded by a peer (module docstring)."""
    keyword = target.keyword
    if keyword in _DCMTK:
        return _converted(path, out, _DCMTK[keyword])
    if keyword in _GDCM and not _gdcm_refuses(path):
        return _converted(path, out, ("gdcmconv", "--raw"))
    if keyword in _PYDICOM:
        return _pydicom_pixels(path, "pydicom")
    return _by_frame(path, keyword)


def _converted(path: Path, out: Path, command: tuple[str, ...]) -> Decoded:
    run = subprocess.run(
        [require_tool(command[0]), *command[1:], str(path), str(out)],
        capture_output=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr.decode("latin-1")
    return _pydicom_pixels(out, command[0])


def _pydicom_pixels(path: Path, peer: str) -> Decoded:
    import pydicom

    ds = pydicom.dcmread(path)
    ds.pixel_array_options(as_rgb=False)
    array = ds.pixel_array
    if int(ds.get("NumberOfFrames") or 1) == 1:
        array = array[np.newaxis]
    return Decoded(array, str(ds.PhotometricInterpretation), peer)


def _gdcm_refuses(path: Path) -> bool:
    """GDCM 3.0 will not write a multi-frame Secondary Capture ("Cannot handle Multi Frame")."""
    import pydicom

    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return int(ds.get("NumberOfFrames") or 1) > 1 and ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7"


# -- frame by frame, with the backend library called directly ----------------------------------
def _by_frame(path: Path, keyword: str) -> Decoded:
    import pydicom
    from pydicom.encaps import generate_frames

    ds = pydicom.dcmread(path)
    info = _frame_info(ds)
    decode = _FRAME_DECODERS[keyword]
    frames = generate_frames(ds.PixelData, number_of_frames=info.number_of_frames)
    arrays = [decode(bytes(frame), info) for frame in frames]
    peer = "libjxl" if keyword in _JPEGXL else "pydicom fragments"
    return Decoded(np.stack(arrays), _decoded_as(info, keyword), peer)


def _decoded_as(info: FrameInfo, keyword: str) -> str:
    """What the library gives: OpenJPEG undoes the MCT, libjxl converts a recompressed JPEG;
    other samples come back as stored."""
    photometric = info.photometric_interpretation
    if photometric in ("YBR_ICT", "YBR_RCT"):
        return "RGB"
    if keyword == "JPEGXLJPEGRecompression" and info.samples_per_pixel == 3:
        return "RGB"
    return photometric


def _frame_info(ds: Any) -> FrameInfo:
    """The Image Pixel attributes as pydicom read them."""
    return FrameInfo(
        rows=int(ds.Rows),
        columns=int(ds.Columns),
        samples_per_pixel=int(ds.SamplesPerPixel),
        bits_allocated=int(ds.BitsAllocated),
        bits_stored=int(ds.BitsStored),
        high_bit=int(ds.HighBit),
        pixel_representation=int(ds.PixelRepresentation),
        photometric_interpretation=str(ds.PhotometricInterpretation),
        number_of_frames=int(ds.get("NumberOfFrames") or 1),
    )


def _shaped(values: Array, info: FrameInfo) -> Array:
    shape = (info.rows, info.columns, 3) if info.samples_per_pixel == 3 else info.shape
    return values.reshape(shape)


def _raw(data: bytes, info: FrameInfo) -> Array:
    """PS3.5 A.4.11: a frame of native little-endian samples, colour-by-pixel."""
    if info.bits_allocated == 1:
        bits = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")
        return _shaped(bits[: info.values_per_frame], info)
    values = np.frombuffer(data, info.dtype.newbyteorder("<"))[: info.values_per_frame]
    return _shaped(values, info)


def _inflated(data: bytes, info: FrameInfo) -> Array:
    """Deflated Image Frame Compression: the raw frame, deflated (RFC 1951, no zlib header)."""
    return _raw(zlib.decompress(data, wbits=-15), info)


def _jpegxl(data: bytes, info: FrameInfo) -> Array:
    """libjxl's samples read as pydicom reads JPEG: the pattern re-read at Bits Stored."""
    import imagecodecs

    samples = imagecodecs.jpegxl_decode(data).astype(np.int64)
    if info.pixel_representation:
        half = 1 << (info.bits_stored - 1)
        samples = np.where(samples >= half, samples - 2 * half, samples)
    return _shaped(samples.astype(info.dtype), info)


def _openjpeg(data: bytes, info: FrameInfo) -> Array:
    """OpenJPEG through pylibjpeg-openjpeg: the MCT undone, the codestream's own sign."""
    from openjpeg.utils import decode

    return _shaped(decode(data).astype(info.dtype), info)


_FRAME_DECODERS: dict[str, Callable[[bytes, FrameInfo], Array]] = {
    "EncapsulatedUncompressedExplicitVRLittleEndian": _raw,
    "DeflatedImageFrameCompression": _inflated,
    "JPEG2000MCLossless": _openjpeg,
    "JPEG2000MC": _openjpeg,
    **dict.fromkeys(_JPEGXL, _jpegxl),
}


# -- the other direction: peers encode, dicomframe decodes ----------------------------------------
@dataclass(frozen=True)
class PeerEncoder:
    """A peer's compressor, the peer's own decompressor, and the frames it takes."""

    name: str
    command: tuple[str, ...]
    decoder: tuple[str, ...]
    takes: Callable[[FrameInfo], bool]
    lossy: bool = False


def _any(info: FrameInfo) -> bool:
    return True


def _not_tiny(info: FrameInfo) -> bool:
    # GDCM 3.0's OpenJPEG and RLE writers crash on a 3x3 colour frame (double free, assert).
    return min(info.rows, info.columns) > 3


def _near_lossless(info: FrameInfo) -> bool:
    # DCMTK refuses signed and palette frames for near-lossless JPEG-LS and cannot decode
    # its own 3x3 colour stream.
    unsigned = not info.pixel_representation and info.photometric_interpretation != "PALETTE COLOR"
    return unsigned and _not_tiny(info)


def _gdcm_lossy_jpeg(info: FrameInfo) -> bool:
    # GDCM's "experimental" lossy JPEG writes DCT frames of P = 16 for wider samples, which
    # ISO/IEC 10918-1 does not allow (P is 8 or 12; dicomframe's decoders say so), and refuses
    # palette frames and 3x3 ones.
    return info.bits_allocated == 8 and _gdcm_lossy(info)


def _gdcm_lossy(info: FrameInfo) -> bool:
    return info.photometric_interpretation != "PALETTE COLOR" and _not_tiny(info)


_DJPEG = ("dcmdjpeg", "+cn")
_GDCM_RAW = ("gdcmconv", "--raw")
PEER_ENCODERS = [
    PeerEncoder("dcmcjpeg+eb", ("dcmcjpeg", "+eb"), _DJPEG, _any, lossy=True),
    PeerEncoder("dcmcjpeg+ee", ("dcmcjpeg", "+ee"), _DJPEG, _any, lossy=True),
    PeerEncoder("dcmcjpeg+es", ("dcmcjpeg", "+es"), _DJPEG, _any, lossy=True),
    PeerEncoder("dcmcjpeg+ep", ("dcmcjpeg", "+ep"), _DJPEG, _any, lossy=True),
    PeerEncoder("dcmcjpeg+el", ("dcmcjpeg", "+el"), _DJPEG, _any),
    PeerEncoder("dcmcjpeg+e1", ("dcmcjpeg", "+e1"), _DJPEG, _any),
    PeerEncoder("dcmcrle", ("dcmcrle",), ("dcmdrle",), _any),
    PeerEncoder("dcmcjpls", ("dcmcjpls",), ("dcmdjpls",), _any),
    PeerEncoder("dcmcjpls+en", ("dcmcjpls", "+en"), ("dcmdjpls",), _near_lossless, lossy=True),
    PeerEncoder("gdcmconv-K", ("gdcmconv", "-K"), _GDCM_RAW, _not_tiny),
    PeerEncoder("gdcmconv-KY", ("gdcmconv", "-K", "-Y"), _GDCM_RAW, _gdcm_lossy, lossy=True),
    PeerEncoder("gdcmconv-J", ("gdcmconv", "-J"), _GDCM_RAW, _any),
    PeerEncoder("gdcmconv-JY", ("gdcmconv", "-J", "-Y"), _GDCM_RAW, _gdcm_lossy_jpeg, lossy=True),
    PeerEncoder("gdcmconv-L", ("gdcmconv", "-L"), _GDCM_RAW, _any),
    PeerEncoder("gdcmconv-R", ("gdcmconv", "-R"), _GDCM_RAW, _not_tiny),
]


def peer_encoded(encoder: PeerEncoder, source: Path, out: Path) -> Path:
    """``source`` compressed by ``encoder``."""
    command = [require_tool(encoder.command[0]), *encoder.command[1:], str(source), str(out)]
    run = subprocess.run(command, capture_output=True, check=False)
    assert run.returncode == 0, run.stderr.decode("latin-1")
    return out


def peer_decompressed(encoder: PeerEncoder, path: Path, out: Path) -> Decoded:
    """``path`` (written by ``encoder``) decompressed by the same peer."""
    return _converted(path, out, encoder.decoder)
