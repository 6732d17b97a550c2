"""JPEG XL (libjxl) through imagecodecs: lossless, lossy, and recompressed baseline JPEG.

.111 is made by encoding 8-bit samples as a baseline JPEG (``quality``,
``subsampling``) and recompressing that stream losslessly; the frame keeps the
JPEG's YBR_FULL_422 / YBR_FULL. Decoding .111 gives RGB (libjxl converts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dicomframe.codecs import _common
from dicomframe.codecs.imagecodecs.common import (
    JPEGXL_NAME,
    decode_errors,
    encoder_failed,
    encoder_input,
    finish,
    full_size,
    narrow,
    samples,
)
from dicomframe.codecs.imagecodecs.jpeg import jpeg_bytes
from dicomframe.core.transfer_syntax import JPEGXLJPEGRecompression

if TYPE_CHECKING:
    from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
    from dicomframe.core.transfer_syntax import TransferSyntax

__all__ = ["decode_jpegxl", "encode_jpegxl"]


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
    _common.sign_extend(values, info.bits_stored)  # no sign in JPEG XL: as pydicom does JPEG
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
    if syntax.uid == JPEGXLJPEGRecompression.uid:
        jpeg, photometric = jpeg_bytes(frame, syntax, options, JPEGXL_NAME)
        try:
            data = imagecodecs.jpegxl_encode_jpeg(jpeg)
        except Exception as exc:  # imagecodecs.JpegxlError
            raise encoder_failed(JPEGXL_NAME, exc) from exc
        return _common.encapsulated_frame(bytes(data), frame, syntax, photometric)
    values = narrow(encoder_input(frame, syntax, JPEGXL_NAME), info)
    kwargs: dict[str, Any] = {"lossless": not syntax.is_lossy, "bitspersample": info.bits_stored}
    if syntax.is_lossy:
        kwargs["distance"] = float(options.get("distance", 1.0))
    if options.get("effort") is not None:
        kwargs["effort"] = int(options["effort"])
    try:
        data = imagecodecs.jpegxl_encode(values, **kwargs)
    except Exception as exc:  # imagecodecs.JpegxlError
        raise encoder_failed(JPEGXL_NAME, exc) from exc
    return _common.encapsulated_frame(
        bytes(data), frame, syntax, full_size(info.photometric_interpretation)
    )
