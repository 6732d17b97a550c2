"""Codecs backed by the pylibjpeg plugins: pylibjpeg-openjpeg and pylibjpeg-libjpeg.

``pylibjpeg-openjpeg`` (MIT; OpenJPEG is BSD-2-Clause), priority 0:

- decodes JPEG 2000 (1.2.840.10008.1.2.4.90, .91, and .92/.93 as far as
  their codestreams are Part 1) and HTJ2K (.201, .202, .203);
- encodes JPEG 2000 Lossless (.90) and JPEG 2000 (.91) with
  ``openjpeg.utils.encode_buffer``. OpenJPEG 2.5 encodes no HTJ2K, and the
  encoder needs at least 32 rows and 32 columns (it always uses six DWT
  resolutions); those frames fail with an :class:`EncodeError` that says so.

``pylibjpeg-libjpeg`` (GPL-3.0), priority -10, so that permissively
licensed codecs for the same syntaxes are tried first: decodes JPEG
Baseline, Extended, Lossless and Lossless SV1 (.50, .51, .57, .70), the
retired spectral selection and full progression processes (.53, .55), and
JPEG-LS (.80, .81).

Decoding follows :mod:`dicomframe.codecs._common`: JPEG 2000 sign and
precision are corrected as pydicom corrects them; JPEG samples are decoded
with no colour transform and converted from YCbCr to RGB here (option
``as_rgb``, default True), so the result says what it is. Options:

decode
    ``as_rgb: bool = True``.
encode (openjpeg)
    ``use_mct: bool = True``: RGB is encoded with the multiple-component
    transform and the frame says YBR_RCT (.90) or YBR_ICT (.91); False
    keeps RGB. ``compression_ratios`` or ``signal_noise_ratios``
    (sequences of floats, one per quality layer) for .91, which uses
    ``signal_noise_ratios=[50]`` when neither is given; .90 refuses them.
    Lossy frames of more than 21 bits are declined: OpenJPEG's irreversible
    wavelet keeps 11-14 dB of them, whatever the settings.

The backends are imported inside the functions, on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dicomframe.codecs import _common
from dicomframe.codecs._jpeg import PROGRESSIVE_SYNTAXES, at_precision, within_bits_stored
from dicomframe.core.transfer_syntax import JPEG2000, JPEG2000Lossless
from dicomframe.errors import DecodeError, EncodeError
from dicomframe.plugins import Capabilities, Codec, hookimpl
from dicomframe.plugins.codec import Threading

if TYPE_CHECKING:
    from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.transfer_syntax import TransferSyntax

__all__ = ["LIBJPEG", "OPENJPEG", "dicomframe_codecs"]

_OPENJPEG = "pylibjpeg-openjpeg"
_LIBJPEG = "pylibjpeg-libjpeg"
_MCT = {JPEG2000Lossless.uid: "YBR_RCT", JPEG2000.uid: "YBR_ICT"}
# A quality, not a ratio, so the documented 45 dB holds (docs/transcoding.md): the former
# 10:1 ratio kept 39.1 dB of pydicom-data's color-px.dcm and 30.0 of a noisy RGB image; a 50 dB
# target keeps 48.0-51.3 on 8-bit RGB and 49-50 on 12- and 16-bit (benchmarks/lossy_defaults.py).
_DEFAULT_PSNR = (50.0,)
_MAX_LOSSY_BITS = 21  # measured: 75 dB at 21 bits, 11-14 dB at 22 to 24
_MIN_SIZE = 32  # 2 ** (6 DWT resolutions - 1): OpenJPEG refuses smaller images


def _decode_j2k(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Decode a JPEG 2000 or HTJ2K frame with OpenJPEG."""
    from openjpeg.utils import decode_pixel_data

    info = frame.info
    src = bytes(frame.data)
    try:
        stream = _common.j2k_parameters(src)
        _common.check_j2k(stream, info)
        raw = decode_pixel_data(src, version=2)
        values = _common.read_samples(raw, _common.container_size(stream.precision), info)
    except (ValueError, RuntimeError) as exc:
        raise DecodeError(str(exc), codec=_OPENJPEG, frame_index=frame.index) from exc
    _common.correct_j2k_sign(values, info, stream)
    values, photometric = _common.finish_colour(
        values,
        info,
        _common.j2k_colour_space(info.photometric_interpretation),
        as_rgb=options.get("as_rgb", True),
    )
    return _common.native_frame(values, info, photometric)


def _lossy_options(
    syntax: TransferSyntax, options: dict[str, Any]
) -> tuple[list[float] | None, list[float] | None]:
    """The ``compression_ratios`` and ``signal_noise_ratios`` to give OpenJPEG."""
    ratios: Sequence[float] | None = options.get("compression_ratios")
    psnr: Sequence[float] | None = options.get("signal_noise_ratios")
    if syntax.uid == JPEG2000Lossless.uid:
        if ratios or psnr:
            raise EncodeError(
                "compression_ratios/signal_noise_ratios make a lossy stream; "
                "JPEG2000Lossless (1.2.840.10008.1.2.4.90) is lossless: use JPEG2000 (…4.91)",
                codec=_OPENJPEG,
            )
        return None, None
    if ratios and psnr:
        raise EncodeError(
            "give compression_ratios or signal_noise_ratios, not both", codec=_OPENJPEG
        )
    if ratios:
        return [float(v) for v in ratios], None
    return None, [float(v) for v in (psnr or _DEFAULT_PSNR)]


def _lossy_limit(info: FrameInfo, syntax: TransferSyntax) -> str | None:
    """Decline lossy frames that OpenJPEG's irreversible wavelet cannot keep."""
    if syntax.is_lossy and info.bits_stored > _MAX_LOSSY_BITS:
        return (
            f"OpenJPEG's irreversible wavelet keeps at most {_MAX_LOSSY_BITS} bits "
            f"(Bits Stored is {info.bits_stored}); use JPEG2000Lossless"
        )
    return None


def _check_encodable(frame: NativeFrame, syntax: TransferSyntax) -> None:
    info = frame.info
    if syntax.uid not in _MCT:
        raise EncodeError(
            f"{_OPENJPEG} encodes JPEG2000Lossless and JPEG2000 only, not {syntax.keyword} "
            "(OpenJPEG 2.5 has no HTJ2K or Part 2 encoder)",
            codec=_OPENJPEG,
        )
    if info.rows < _MIN_SIZE or info.columns < _MIN_SIZE:
        raise EncodeError(
            f"OpenJPEG encodes frames of at least {_MIN_SIZE}x{_MIN_SIZE} pixels, "
            f"not {info.columns}x{info.rows}",
            codec=_OPENJPEG,
        )


def _encode_j2k(frame: NativeFrame, syntax: TransferSyntax, /, **options: Any) -> EncapsulatedFrame:
    """Encode a frame as JPEG 2000 (lossless for .90, lossy for .91) with OpenJPEG."""
    from openjpeg.utils import encode_buffer

    _check_encodable(frame, syntax)
    info = frame.info
    ratios, psnr = _lossy_options(syntax, options)
    arr = _common.interleaved(frame)
    try:
        _common.check_range(arr, info)
    except ValueError as exc:
        raise EncodeError(str(exc), codec=_OPENJPEG) from exc
    photometric = info.photometric_interpretation
    # OpenJPEG applies the MCT only when told the samples are sRGB (its value 1).
    mct = info.samples_per_pixel == 3 and photometric == "RGB" and options.get("use_mct", True)
    try:
        data = encode_buffer(
            arr.tobytes(),
            info.columns,
            info.rows,
            info.samples_per_pixel,
            info.bits_stored,
            bool(info.pixel_representation),
            photometric_interpretation=1 if mct else 0,
            use_mct=mct,
            compression_ratios=ratios,
            signal_noise_ratios=psnr,
        )
    except RuntimeError as exc:
        raise EncodeError(f"OpenJPEG: {exc}", codec=_OPENJPEG) from exc
    return _common.encapsulated_frame(data, frame, syntax, _MCT[syntax.uid] if mct else photometric)


def _decode_libjpeg(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Decode a JPEG or JPEG-LS frame with libjpeg, applying no colour transform."""
    from libjpeg.utils import decode_pixel_data

    info = frame.info
    src = bytes(frame.data)
    try:
        stream = _common.jpeg_parameters(src)
        _common.check_jpeg(stream, info)
        # version=2: raw bytes, decoded with JPGFLAG_MATRIX_COLORTRANSFORMATION_NONE.
        raw = decode_pixel_data(src, version=2)
        values = _common.read_samples(raw, _common.container_size(stream.precision), info)
    except (ValueError, RuntimeError) as exc:
        raise DecodeError(str(exc), codec=_LIBJPEG, frame_index=frame.index) from exc
    colour_space = _common.jpeg_colour_space(stream, info.photometric_interpretation)
    if stream.is_jpeg_ls:  # no signedness: re-read at the stream's precision (pydicom)
        _common.sign_extend(values, stream.precision)
        colour_info = info
    else:  # JPEG: brought into Bits Stored once its colour is settled (codecs/_jpeg.py)
        colour_info = at_precision(info, stream)
    values, photometric = _common.finish_colour(
        values, colour_info, colour_space, as_rgb=options.get("as_rgb", True)
    )
    if not stream.is_jpeg_ls:
        within_bits_stored(values, info, lossy=not stream.lossless)
    return _common.native_frame(values, info, photometric)


OPENJPEG = Codec(
    name=_OPENJPEG,
    transfer_syntaxes=_common.J2K_SYNTAXES | _common.HTJ2K_SYNTAXES,
    encode_syntaxes=frozenset({"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"}),
    decode=_decode_j2k,
    encode=_encode_j2k,
    decode_caps=Capabilities(bits_allocated=frozenset({8, 16, 32})),
    encode_caps=Capabilities(
        bits_allocated=frozenset({8, 16, 32}),
        photometric=frozenset({"MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB", "YBR_FULL"}),
        max_bits_stored=24,
        min_size=32,  # OpenJPEG's encoder refuses smaller images
    ),
    encode_check=_lossy_limit,
    modules=("openjpeg",),
    requires=("pylibjpeg-openjpeg>=2.3",),
    # Its C code reads the input through Python file-object calls, during which another
    # thread may enter OpenJPEG too: two threads on JPEG 2000 frames end in a segfault.
    threading=Threading.PROCESS_ONLY,
    # A 50 dB target: 46.0 dB at worst on 8-bit images, 46.4 on 12-bit, 40.2 on a 33x35 frame
    # of 6-bit YBR_FULL (dicomframe.testing's smooth source)
    psnr_floor=40.0,
)

LIBJPEG = Codec(
    name=_LIBJPEG,
    transfer_syntaxes=_common.JPEG_SYNTAXES | PROGRESSIVE_SYNTAXES | _common.JPEG_LS_SYNTAXES,
    decode=_decode_libjpeg,
    decode_caps=Capabilities(max_bits_stored=16),
    modules=("libjpeg",),
    requires=("pylibjpeg-libjpeg>=2.1",),
    priority=-10,  # GPL-3.0: permissive codecs for the same syntaxes go first
    threading=Threading.HOLDS_GIL,  # no nogil block in its bindings: 2 threads 0.8x-1.1x
)


@hookimpl
def dicomframe_codecs() -> list[Codec]:
    """The pylibjpeg codecs (their backends are imported on first use)."""
    return [OPENJPEG, LIBJPEG]
