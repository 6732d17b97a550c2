"""JPEG XL (libjxl) through imagecodecs: lossless, lossy, and recompressed baseline JPEG.

.111 is made by encoding 8-bit samples as a baseline JPEG (``quality``,
``subsampling``) and recompressing that stream losslessly; the frame keeps the
JPEG's YBR_FULL_422 / YBR_FULL. Decoding .111 gives RGB (libjxl converts).

Signed samples (JPEG XL Lossless). A JPEG XL codestream holds unsigned integer
samples and has no field that could say otherwise (ISO/IEC 18181-1 gives a
bit depth, no sign), so the sign travels in the dataset's Pixel Representation
only. Each signed value is written as its two's complement pattern in Bits
Stored bits (``value & (2**bits_stored - 1)``, bits per sample = Bits Stored),
the rule DICOM follows for the other codestreams without a sign (JPEG,
JPEG-LS). That is what a decoder from another library sees and gets right: it
copies the samples into the frame and reads them as Pixel Representation says,
sign-extending from Bits Stored (dicomframe's decoder, and pydicom's rule for
JPEG) or taking the container's bit pattern. Adding 2**(bits_stored - 1) to
each value instead (offset binary) would compress data that crosses zero 8-13%
smaller (pydicom's signed CT and MR files), but nothing in the stream could
record the offset: every decoder that did not know of it would read each value
with its top bit flipped. Lossy JPEG XL (.111, .112) refuses signed frames: a
lossy coder of those patterns would turn small negative values into large ones.

PALETTE COLOR (JPEG XL Lossless): the indices are coded as one grey channel and
decode as indices, the frame still saying PALETTE COLOR; the palette stays in
the dataset. The lossy syntaxes refuse them: a changed index is another colour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dicomframe.codecs import _common
from dicomframe.codecs._jpeg import within_bits_stored
from dicomframe.codecs.imagecodecs.common import (
    JPEGXL_NAME,
    Array,
    decode_errors,
    encoder_failed,
    encoder_input,
    finish,
    full_size,
    lossy_check,
    narrow,
    samples,
)
from dicomframe.codecs.imagecodecs.jpeg import jpeg_bytes
from dicomframe.core.transfer_syntax import JPEGXLJPEGRecompression, JPEGXLLossless
from dicomframe.errors import EncodeError

if TYPE_CHECKING:
    from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.transfer_syntax import TransferSyntax

__all__ = ["DEFAULT_DISTANCE", "decode_jpegxl", "encode_jpegxl", "jpegxl_check"]

# Butteraugli distance 1.0 is libjxl's "visually lossless", not a PSNR: it keeps 28.7 dB of a
# smooth RGB image with noise of sigma 10 in each channel and 27.5 dB of pydicom's
# ExplVR_BigEnd.dcm, under the documented 30 dB (docs/transcoding.md); 0.3 keeps 31.6 and 32.8
# (benchmarks/lossy_defaults.py).
DEFAULT_DISTANCE = 0.3


def jpegxl_check(info: FrameInfo, syntax: TransferSyntax) -> str | None:
    """Target-syntax limits: those of every lossy syntax, and signed frames lossless only."""
    reason = lossy_check(info, syntax)
    if reason is None and syntax.is_lossy and info.pixel_representation:
        reason = (
            f"{syntax.keyword} is lossy: signed samples are stored as two's complement "
            "patterns, which a lossy coder would wrap at zero; use JPEGXLLossless"
        )
    return reason


def _patterns(values: Array, info: FrameInfo) -> Array:
    """The samples libjxl is given: unsigned; a signed value as its Bits Stored-bit pattern."""
    if not info.pixel_representation:
        return values
    unsigned = values.view(values.dtype.str.replace("i", "u"))
    patterns: Array = unsigned & ((1 << info.bits_stored) - 1)
    return patterns


def decode_jpegxl(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Decode a JPEG XL frame with libjxl (a recompressed JPEG decodes to RGB)."""
    import imagecodecs

    info = frame.info
    with decode_errors(frame, JPEGXL_NAME):
        arr = imagecodecs.jpegxl_decode(bytes(frame.data))
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.shape != info.shape or arr.dtype.kind not in "ui":
            raise ValueError(f"the image is {arr.dtype} {arr.shape}; the dataset {info.shape}")
        values = samples(arr, info)
    # No sign in JPEG XL (module docstring); a lossy frame is clipped as a lossy JPEG is.
    within_bits_stored(values, info, lossy=info.transfer_syntax_uid != JPEGXLLossless.uid)
    recompressed = info.transfer_syntax_uid == JPEGXLJPEGRecompression.uid
    if recompressed and info.samples_per_pixel == 3:
        colour_space = "RGB"  # libjxl converts the JPEG's YCbCr itself
    else:
        colour_space = full_size(info.photometric_interpretation)
    return finish(frame, values, colour_space, options, JPEGXL_NAME)


def encode_jpegxl(
    frame: NativeFrame, syntax: TransferSyntax, /, **options: Any
) -> EncapsulatedFrame:
    """Encode a frame as JPEG XL (lossless, lossy, or a recompressed baseline JPEG)."""
    import imagecodecs

    info = frame.info
    reason = jpegxl_check(info, syntax)
    if reason is not None:  # the registry declines first; a direct call is refused here
        raise EncodeError(reason, codec=JPEGXL_NAME)
    if syntax.uid == JPEGXLJPEGRecompression.uid:
        jpeg, photometric = jpeg_bytes(frame, syntax, options, JPEGXL_NAME)
        try:
            data = imagecodecs.jpegxl_encode_jpeg(jpeg)
        except Exception as exc:  # imagecodecs.JpegxlError
            raise encoder_failed(JPEGXL_NAME, exc) from exc
        return _common.encapsulated_frame(bytes(data), frame, syntax, photometric)
    values = _patterns(narrow(encoder_input(frame, syntax, JPEGXL_NAME), info), info)
    kwargs: dict[str, Any] = {"lossless": not syntax.is_lossy, "bitspersample": info.bits_stored}
    if syntax.is_lossy:
        kwargs["distance"] = float(options.get("distance", DEFAULT_DISTANCE))
    if options.get("effort") is not None:
        kwargs["effort"] = int(options["effort"])
    try:
        data = imagecodecs.jpegxl_encode(values, **kwargs)
    except Exception as exc:  # imagecodecs.JpegxlError
        raise encoder_failed(JPEGXL_NAME, exc) from exc
    return _common.encapsulated_frame(
        bytes(data), frame, syntax, full_size(info.photometric_interpretation)
    )
