"""A codec backed by Pillow (MIT-CMU): JPEG through libjpeg(-turbo), JPEG 2000 through OpenJPEG.

``pillow``, priority -5:

- decodes JPEG Baseline (1.2.840.10008.1.2.4.50), 8-bit JPEG Extended
  (.51), 8-bit spectral selection (.53) and full progression (.55), and, as
  a fallback behind ``pylibjpeg-openjpeg``, JPEG 2000 (.90, .91) up to 16
  bits with one sample or 8 bits with three;
- encodes JPEG Baseline: 8-bit unsigned, one sample (MONOCHROME1/2) or three
  (RGB or YBR_FULL).

Decoding. libjpeg converts what it guesses is YCbCr to RGB by its own rules
(JFIF, Adobe APP14, component IDs), which are not DICOM's; so the samples
are taken as stored (``draft("YCbCr")`` when libjpeg would convert) and
colour is settled by :mod:`dicomframe.codecs._common`: YCbCr becomes RGB
with ``as_rgb`` (default True) and the frame says which it is. For JPEG
2000, Pillow scales every sample to 8 or 16 bits and offsets signed ones
by half the range; both are undone from the codestream's precision and
signedness, then the same sign rule as for OpenJPEG applies.

Decode options: ``as_rgb: bool = True``.

Encode options: ``quality: int = 95`` (1-95, libjpeg's scale; 95 keeps the
documented 30 dB on noisy 8-bit RGB, 90 does not: see ``imagecodecs-jpeg``) and
``photometric_interpretation`` for three samples: ``"YBR_FULL_422"``
(default: YCbCr with 4:2:2 chroma subsampling), ``"YBR_FULL"`` (YCbCr, no
subsampling) or ``"RGB"`` (no colour transform: components ``R G B`` with
an Adobe APP14 marker saying so). The encoded frame's Photometric
Interpretation is the one chosen.

Pillow is imported inside the functions, on first use: ``PIL.Image`` and the
one plugin the syntax needs (Image.open still loads its five common ones).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe.codecs import _common
from dicomframe.codecs._jpeg import PROGRESSIVE_SYNTAXES, at_precision, within_bits_stored
from dicomframe.core.transfer_syntax import (
    JPEG2000,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    resolve,
)
from dicomframe.errors import DecodeError, EncodeError
from dicomframe.plugins import Capabilities, Codec, hookimpl
from dicomframe.plugins.codec import Threading

if TYPE_CHECKING:
    from PIL import Image

    from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.transfer_syntax import TransferSyntax

__all__ = ["PILLOW", "dicomframe_codecs"]

_NAME = "pillow"
_JPEG = frozenset({JPEGBaseline8Bit.uid, JPEGExtended12Bit.uid}) | PROGRESSIVE_SYNTAXES
_J2K = frozenset({"1.2.840.10008.1.2.4.90", JPEG2000.uid})
_QUALITY = 95  # the same libjpeg-turbo and default as imagecodecs-jpeg (DEFAULT_QUALITY)
# Pillow's subsampling: 0 is 4:4:4, 1 is 4:2:2 (H 2:1, V 1:1).
_ENCODINGS = {"YBR_FULL_422": {"subsampling": 1}, "YBR_FULL": {"subsampling": 0}, "RGB": {}}


def _why_not(info: FrameInfo) -> str | None:
    """Limits of Pillow's decoders that Capabilities cannot state."""
    uid = info.transfer_syntax_uid
    if uid in _JPEG and info.bits_stored > 8:
        keyword = resolve(uid).keyword
        return f"Pillow's libjpeg decodes 8-bit JPEG only, not {info.bits_stored}-bit {keyword}"
    if uid in _J2K and info.samples_per_pixel > 1 and info.bits_stored > 8:
        return "Pillow reduces JPEG 2000 colour samples above 8 bits to 8 bits"
    return None


def _open_jpeg(src: bytes) -> Image.Image:
    from PIL import Image, JpegImagePlugin

    assert JpegImagePlugin  # registered by its import: Image.open looks for no other
    return Image.open(io.BytesIO(src), formats=("JPEG",))


def _open_j2k(src: bytes) -> Image.Image:
    from PIL import Image, Jpeg2KImagePlugin

    # Imported and named here: asked for a format it has not loaded, Image.open loads every
    # plugin Pillow has (about 25 ms in a fresh process).
    assert Jpeg2KImagePlugin
    return Image.open(io.BytesIO(src), formats=("JPEG2000",))


def _libjpeg_converts(stream: _common.JPEGParameters) -> bool:
    """Whether libjpeg takes the components as YCbCr and would convert them to RGB."""
    if stream.components != 3:
        return False
    if stream.jfif:
        return True
    if stream.adobe_transform is not None:
        return stream.adobe_transform != 0
    return stream.component_ids != (0x52, 0x47, 0x42)


def _decode_jpeg(src: bytes, info: FrameInfo, as_rgb: bool) -> tuple[np.ndarray[Any, Any], str]:
    stream = _common.jpeg_parameters(src)
    _common.check_jpeg(stream, info)
    image = _open_jpeg(src)
    if _libjpeg_converts(stream):
        # Keep the samples as stored; the size asks for no DCT scaling.
        image.draft("YCbCr", image.size)
        if image.mode != "YCbCr":
            raise ValueError(f"Pillow would convert this JPEG to {image.mode}, not keep YCbCr")
    values = _common.read_samples(image.tobytes(), 1, info)
    colour_space = _common.jpeg_colour_space(stream, info.photometric_interpretation)
    values, photometric = _common.finish_colour(
        values, at_precision(info, stream), colour_space, as_rgb=as_rgb
    )
    within_bits_stored(values, info, lossy=True)  # Pillow's libjpeg reads DCT processes only
    return values, photometric


def _decode_j2k(src: bytes, info: FrameInfo, as_rgb: bool) -> tuple[np.ndarray[Any, Any], str]:
    stream = _common.j2k_parameters(src)
    _common.check_j2k(stream, info)
    if stream.precision > (8 if stream.components > 1 else 16):
        raise ValueError(f"Pillow cannot decode {stream.precision}-bit JPEG 2000 exactly")
    image = _open_j2k(src)
    width = 1 if image.mode in ("L", "RGB") else 2
    scaled = np.frombuffer(image.tobytes(), dtype=f"<u{width}").astype(np.int64)
    # Pillow left-aligns each sample in 8 or 16 bits, and adds 2**(precision-1) to signed ones.
    stored = scaled >> (8 * width - stream.precision)
    if stream.signed:
        stored -= 1 << (stream.precision - 1)
    size = _common.container_size(stream.precision)
    kind = "i" if stream.signed else "u"
    raw = stored.astype(f"<{kind}{size}").tobytes()
    values = _common.read_samples(raw, size, info)
    _common.correct_j2k_sign(values, info, stream)
    colour_space = _common.j2k_colour_space(info.photometric_interpretation)
    return _common.finish_colour(values, info, colour_space, as_rgb=as_rgb)


def _decode(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Decode a JPEG or JPEG 2000 frame with Pillow."""
    info = frame.info
    src = bytes(frame.data)
    decode = _decode_j2k if info.transfer_syntax_uid in _J2K else _decode_jpeg
    try:
        values, photometric = decode(src, info, options.get("as_rgb", True))
    except (ValueError, OSError) as exc:  # PIL.UnidentifiedImageError is an OSError
        raise DecodeError(
            f"{type(exc).__name__}: {exc}", codec=_NAME, frame_index=frame.index
        ) from exc
    return _common.native_frame(values, info, photometric)


def _image(frame: NativeFrame, target: str) -> Image.Image:
    """The frame as a PIL image in the mode libjpeg should encode from."""
    from PIL import Image

    from dicomframe.color import ybr_to_rgb

    info = frame.info
    arr = _common.interleaved(frame)
    mode = "RGB"
    if info.samples_per_pixel == 1:
        mode = "L"
    elif info.photometric_interpretation == "YBR_FULL":
        if target == "RGB":
            arr = ybr_to_rgb(arr)
        else:
            mode = "YCbCr"  # already YCbCr: libjpeg compresses it as it is
    return Image.frombytes(mode, (info.columns, info.rows), arr.tobytes())


def _encode(frame: NativeFrame, syntax: TransferSyntax, /, **options: Any) -> EncapsulatedFrame:
    """Encode an 8-bit frame as JPEG Baseline with Pillow."""
    info = frame.info
    if syntax.uid != JPEGBaseline8Bit.uid:
        raise EncodeError(
            f"Pillow encodes JPEGBaseline8Bit only, not {syntax.keyword}", codec=_NAME
        )
    if info.bits_stored != 8:
        raise EncodeError(
            f"JPEG Baseline holds 8-bit samples; Bits Stored is {info.bits_stored}", codec=_NAME
        )
    target = info.photometric_interpretation
    if info.samples_per_pixel == 3:
        target = str(options.get("photometric_interpretation", "YBR_FULL_422"))
        if target not in _ENCODINGS:
            raise EncodeError(
                f"photometric_interpretation {target!r} is not one of {sorted(_ENCODINGS)}",
                codec=_NAME,
            )
    quality = int(options.get("quality", _QUALITY))
    if not 1 <= quality <= 100:
        raise EncodeError(f"quality {quality} is not in 1..100", codec=_NAME)
    settings: dict[str, Any] = dict(_ENCODINGS.get(target, {}))
    if target == "RGB":
        settings["keep_rgb"] = True  # no colour transform: IDs "RGB" and Adobe APP14 say so
    out = io.BytesIO()
    try:
        _image(frame, target).save(out, format="JPEG", quality=quality, **settings)
    except (ValueError, OSError) as exc:
        raise EncodeError(f"Pillow: {exc}", codec=_NAME) from exc
    return _common.encapsulated_frame(out.getvalue(), frame, syntax, target)


PILLOW = Codec(
    name=_NAME,
    transfer_syntaxes=_JPEG | _J2K,
    encode_syntaxes=frozenset({"1.2.840.10008.1.2.4.50"}),
    decode=_decode,
    encode=_encode,
    decode_caps=Capabilities(max_bits_stored=16),
    encode_caps=Capabilities(
        bits_allocated=frozenset({8}),
        photometric=frozenset({"MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL"}),
        signed=False,
    ),
    modules=("PIL",),
    requires=("pillow>=10",),
    priority=-5,  # behind OpenJPEG for JPEG 2000; ahead of the GPL libjpeg for JPEG
    extra_check=_why_not,
    threading=Threading.HOLDS_GIL,  # 2 threads: 1.0x for JPEG 2000, at most 1.2x for JPEG
    psnr_floor=30.0,  # quality 90, 4:2:2: 30.6 dB at worst on 8-bit RGB
)


@hookimpl
def dicomframe_codecs() -> list[Codec]:
    """The Pillow codec (Pillow is imported on first use)."""
    return [PILLOW]
