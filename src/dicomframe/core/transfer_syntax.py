"""Transfer syntaxes (PS3.5 10, PS3.6 Table A-1) and the facts the reader needs.

Every syntax of the standard is known here, including those no installed
codec can decode: "known, no codec" is a different answer from "unknown
UID". A plugin can add a private syntax with :func:`register`.
A syntax is named anywhere by its UID or its PS3.6 keyword.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from dicomframe.errors import UnknownTransferSyntaxError

__all__ = ["TransferSyntax", "register", "resolve"]


@dataclass(frozen=True, slots=True)
class TransferSyntax:
    """One transfer syntax and how it encodes a dataset.

    Attributes
    ----------
    uid, keyword
        The UID and the PS3.6 keyword (``"JPEG2000Lossless"``).
    is_explicit_vr, is_little_endian
        How data elements are encoded (PS3.5 7.1).
    is_deflated
        The dataset after the file meta is a raw deflate stream (PS3.5 A.5).
    is_encapsulated
        Pixel Data holds fragments of compressed frames (PS3.5 A.4).
    is_lossy
        Decoding need not give back the exact pixels that were encoded.
    is_retired
        PS3.6 lists the syntax as retired.
    """

    uid: str
    keyword: str
    is_explicit_vr: bool = True
    is_little_endian: bool = True
    is_deflated: bool = False
    is_encapsulated: bool = False
    is_lossy: bool = False
    is_retired: bool = False

    @property
    def name(self) -> str:
        """The PS3.6 name, e.g. ``"JPEG 2000 Image Compression (Lossless Only)"``."""
        from dicomframe.core.uids import uid_name

        name = uid_name(self.uid)
        return self.keyword if name == self.uid else name

    @property
    def is_native(self) -> bool:
        """True when Pixel Data is stored uncompressed in the element itself."""
        return not self.is_encapsulated

    def __str__(self) -> str:
        return f"{self.keyword} ({self.uid})"

    @classmethod
    def resolve(cls, value: str | TransferSyntax) -> TransferSyntax:
        """Return the syntax for a UID or keyword; see :func:`resolve`."""
        return resolve(value)


def _encapsulated(
    uid: str, keyword: str, *, lossy: bool = False, retired: bool = False
) -> TransferSyntax:
    return TransferSyntax(uid, keyword, is_encapsulated=True, is_lossy=lossy, is_retired=retired)


_J = "1.2.840.10008.1.2.4."
_RETIRED_JPEG = {
    "52": ("JPEGExtended35", True),
    "53": ("JPEGSpectralSelectionNonHierarchical68", True),
    "54": ("JPEGSpectralSelectionNonHierarchical79", True),
    "55": ("JPEGFullProgressionNonHierarchical1012", True),
    "56": ("JPEGFullProgressionNonHierarchical1113", True),
    "58": ("JPEGLosslessNonHierarchical15", False),
    "59": ("JPEGExtendedHierarchical1618", True),
    "60": ("JPEGExtendedHierarchical1719", True),
    "61": ("JPEGSpectralSelectionHierarchical2022", True),
    "62": ("JPEGSpectralSelectionHierarchical2123", True),
    "63": ("JPEGFullProgressionHierarchical2426", True),
    "64": ("JPEGFullProgressionHierarchical2527", True),
    "65": ("JPEGLosslessHierarchical28", False),
    "66": ("JPEGLosslessHierarchical29", False),
}
_VIDEO = {
    "100": "MPEG2MPML",
    "101": "MPEG2MPHL",
    "102": "MPEG4HP41",
    "103": "MPEG4HP41BD",
    "104": "MPEG4HP422D",
    "105": "MPEG4HP423D",
    "106": "MPEG4HP42STEREO",
}

ImplicitVRLittleEndian = TransferSyntax("1.2.840.10008.1.2", "ImplicitVRLittleEndian", False)
ExplicitVRLittleEndian = TransferSyntax("1.2.840.10008.1.2.1", "ExplicitVRLittleEndian")
EncapsulatedUncompressedExplicitVRLittleEndian = _encapsulated(
    "1.2.840.10008.1.2.1.98", "EncapsulatedUncompressedExplicitVRLittleEndian"
)
DeflatedExplicitVRLittleEndian = TransferSyntax(
    "1.2.840.10008.1.2.1.99", "DeflatedExplicitVRLittleEndian", is_deflated=True
)
ExplicitVRBigEndian = TransferSyntax(
    "1.2.840.10008.1.2.2", "ExplicitVRBigEndian", is_little_endian=False, is_retired=True
)
JPEGBaseline8Bit = _encapsulated(_J + "50", "JPEGBaseline8Bit", lossy=True)
JPEGExtended12Bit = _encapsulated(_J + "51", "JPEGExtended12Bit", lossy=True)
JPEGLossless = _encapsulated(_J + "57", "JPEGLossless")
JPEGLosslessSV1 = _encapsulated(_J + "70", "JPEGLosslessSV1")
JPEGLSLossless = _encapsulated(_J + "80", "JPEGLSLossless")
JPEGLSNearLossless = _encapsulated(_J + "81", "JPEGLSNearLossless", lossy=True)
JPEG2000Lossless = _encapsulated(_J + "90", "JPEG2000Lossless")
JPEG2000 = _encapsulated(_J + "91", "JPEG2000", lossy=True)
JPEG2000MCLossless = _encapsulated(_J + "92", "JPEG2000MCLossless")
JPEG2000MC = _encapsulated(_J + "93", "JPEG2000MC", lossy=True)
# PS3.5 8.2.7/A.4.x: JPIP syntaxes reference the pixels by URL; no Pixel Data is present.
JPIPReferenced = TransferSyntax(_J + "94", "JPIPReferenced")
JPIPReferencedDeflate = TransferSyntax(_J + "95", "JPIPReferencedDeflate", is_deflated=True)
HEVCMP51 = _encapsulated(_J + "107", "HEVCMP51", lossy=True)
HEVCM10P51 = _encapsulated(_J + "108", "HEVCM10P51", lossy=True)
JPEGXLLossless = _encapsulated(_J + "110", "JPEGXLLossless")
JPEGXLJPEGRecompression = _encapsulated(_J + "111", "JPEGXLJPEGRecompression", lossy=True)
JPEGXL = _encapsulated(_J + "112", "JPEGXL", lossy=True)
HTJ2KLossless = _encapsulated(_J + "201", "HTJ2KLossless")
HTJ2KLosslessRPCL = _encapsulated(_J + "202", "HTJ2KLosslessRPCL")
HTJ2K = _encapsulated(_J + "203", "HTJ2K", lossy=True)
JPIPHTJ2KReferenced = TransferSyntax(_J + "204", "JPIPHTJ2KReferenced")
JPIPHTJ2KReferencedDeflate = TransferSyntax(
    _J + "205", "JPIPHTJ2KReferencedDeflate", is_deflated=True
)
RLELossless = _encapsulated("1.2.840.10008.1.2.5", "RLELossless")
DeflatedImageFrameCompression = _encapsulated(
    "1.2.840.10008.1.2.8.1", "DeflatedImageFrameCompression"
)
SMPTEST211020UncompressedProgressiveActiveVideo = TransferSyntax(
    "1.2.840.10008.1.2.7.1", "SMPTEST211020UncompressedProgressiveActiveVideo"
)
SMPTEST211020UncompressedInterlacedActiveVideo = TransferSyntax(
    "1.2.840.10008.1.2.7.2", "SMPTEST211020UncompressedInterlacedActiveVideo"
)
SMPTEST211030PCMDigitalAudio = TransferSyntax(
    "1.2.840.10008.1.2.7.3", "SMPTEST211030PCMDigitalAudio"
)
Papyrus3ImplicitVRLittleEndian = TransferSyntax(
    "1.2.840.10008.1.20", "Papyrus3ImplicitVRLittleEndian", False, is_retired=True
)

_BUILTIN: list[TransferSyntax] = [
    ImplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    EncapsulatedUncompressedExplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    *(
        _encapsulated(_J + n, k, lossy=lossy, retired=True)
        for n, (k, lossy) in _RETIRED_JPEG.items()
    ),
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    JPEG2000Lossless,
    JPEG2000,
    JPEG2000MCLossless,
    JPEG2000MC,
    JPIPReferenced,
    JPIPReferencedDeflate,
    *(_encapsulated(_J + n, k, lossy=True) for n, k in _VIDEO.items()),
    *(_encapsulated(_J + n + ".1", k + "F", lossy=True) for n, k in _VIDEO.items()),
    HEVCMP51,
    HEVCM10P51,
    JPEGXLLossless,
    JPEGXLJPEGRecompression,
    JPEGXL,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    HTJ2K,
    JPIPHTJ2KReferenced,
    JPIPHTJ2KReferencedDeflate,
    RLELossless,
    DeflatedImageFrameCompression,
    SMPTEST211020UncompressedProgressiveActiveVideo,
    SMPTEST211020UncompressedInterlacedActiveVideo,
    SMPTEST211030PCMDigitalAudio,
    Papyrus3ImplicitVRLittleEndian,
]

_lock = threading.Lock()
_BY_UID: dict[str, TransferSyntax] = {ts.uid: ts for ts in _BUILTIN}
_BY_KEYWORD: dict[str, TransferSyntax] = {ts.keyword: ts for ts in _BUILTIN}


def register(syntax: TransferSyntax) -> TransferSyntax:
    """Make a private transfer syntax known (for codec plugins).

    Registering the same syntax twice is harmless; a different syntax with a
    UID or keyword already in use is refused with ``ValueError``.
    """
    with _lock:
        for table, key in ((_BY_UID, syntax.uid), (_BY_KEYWORD, syntax.keyword)):
            known = table.get(key)
            if known is not None and known != syntax:
                raise ValueError(f"transfer syntax {key!r} is already registered as {known}")
        _BY_UID[syntax.uid] = syntax
        _BY_KEYWORD[syntax.keyword] = syntax
    return syntax


def all_syntaxes() -> list[TransferSyntax]:
    """Every known transfer syntax, built-in and registered, in UID order."""
    return sorted(_BY_UID.values(), key=lambda ts: [int(p) for p in ts.uid.split(".")])


def resolve(value: str | TransferSyntax) -> TransferSyntax:
    """Return the transfer syntax for a UID or a PS3.6 keyword.

    Raises
    ------
    UnknownTransferSyntaxError
        When neither a UID nor a keyword matches; close matches are suggested.
    """
    if isinstance(value, TransferSyntax):
        return value
    text = value.strip().rstrip("\x00").strip()
    found = _BY_UID.get(text) or _BY_KEYWORD.get(text)
    if found is not None:
        return found
    lowered = {k.lower(): ts for k, ts in _BY_KEYWORD.items()}
    if text.lower() in lowered:
        return lowered[text.lower()]
    import difflib  # here: only a mistyped name needs it (2 ms of every import of dicomframe)

    candidates = list(_BY_UID) + list(_BY_KEYWORD)
    raise UnknownTransferSyntaxError(value, difflib.get_close_matches(text, candidates, n=3))
