"""Codecs backed by imagecodecs (BSD-3-Clause; its libraries are BSD, MIT, IJG or zlib).

Seven codecs. Five at priority 1 (after the single-purpose pyjpegls at 5, before
pylibjpeg's at 0 and -10), an RLE encoder at 10, the fastest there is, and a
lossless JPEG decoder at 0.
imagecodecs may be built without some of its libraries, so each codec's
``extra_check`` asks whether the one it needs is there
(``imagecodecs.JPEG8.available`` and so on) and declines with a reason when
it is not.

``imagecodecs-jpeg`` (libjpeg-turbo 3 through ``jpeg8_*``)
    Decodes and encodes JPEG Baseline (.50), Extended (.51: 8 or 12 bits),
    Lossless (.57) and Lossless SV1 (.70). Lossless encodes 2 to 16 bits, 1 or
    3 samples, signed or unsigned, with the first-order predictor for .70 and
    ``predictor`` (1-7, default 1) for .57, at P = Bits Stored (at least 9 in a
    16-bit frame: decoders size samples from P, and pydicom reads them as Bits
    Allocated wide). Lossy encodes unsigned samples only
    (a DCT of two's complement patterns would wrap at zero); RGB and YBR_FULL
    become YCbCr with ``subsampling`` ``"422"`` (default, YBR_FULL_422) or
    ``"444"`` (YBR_FULL); ``quality`` 1-100 (default 95). 12 and 16 bits need
    libjpeg-turbo 3 (``JPEG8.all_precisions``). Also decodes the retired
    spectral selection (.53) and full progression (.55) processes, 8 or 12
    bits, which it does not encode.
``imagecodecs-ljpeg`` (liblj92)
    Decodes JPEG Lossless (.57, .70) only (:mod:`.ljpeg`): a decoder written
    apart from libjpeg-turbo, so it verifies what ``imagecodecs-jpeg``
    encodes (2-4 ms a 512x512 16-bit frame, against 15-18 ms for
    pylibjpeg-libjpeg, which holds the GIL). Priority 0: libjpeg-turbo stays
    the first decoder of lossless JPEG. Declines streams with restart
    markers or a point transform.
``imagecodecs-jpegls`` (CharLS)
    JPEG-LS (.80, .81) decode and encode; ``lossy_error`` as for ``pyjpegls``.
    imagecodecs sets P from the container (8 or 16 bits), so signed samples
    are written as full-container two's complement patterns: any decoder
    that follows pydicom's rule (sign-extend from P) reads them back.
``imagecodecs-j2k`` (OpenJPEG)
    JPEG 2000 (.90, .91, .92, .93) decode and encode; .92/.93 are written as
    Part 1 codestreams (Part 2 decoders read them; no Part 2 transform is
    used). RGB is encoded with the multiple-component transform unless
    ``use_mct=False``, and the frame then says YBR_RCT (lossless) or YBR_ICT.
    Lossy: irreversible 9-7 wavelet, ``psnr`` (dB) to aim for a quality,
    otherwise no rate control.
``imagecodecs-htj2k`` (OpenJPH)
    HTJ2K (.201, .202, .203) decode and encode. OpenJPH writes RPCL progression;
    for .202 the codec also writes TLM markers and enough decompositions for a
    base resolution of at most 64x64, and checks the codestream says so (PS3.5
    10.18). Lossy (.203): ``qstep``, the quantisation step (smaller is better).
    OpenJPH sets the precision from the container (8 or 16 bits).
``imagecodecs-rle`` (imagecodecs' own PackBits)
    RLE Lossless decode and encode (:mod:`.packbits`): the first RLE decoder
    (priority 10; 1.8x as fast as pylibjpeg-rle) and the second encoder
    (``encode_priority`` 8, after pylibjpeg-rle, as fast segment by segment),
    so it verifies what pylibjpeg-rle encodes. Every frame the RLE codecs
    take (:func:`dicomframe.codecs.rle.why_not`).
``imagecodecs-jpegxl`` (libjxl)
    JPEG XL Lossless (.110), JPEG Recompression (.111) and JPEG XL (.112)
    decode and encode; signed samples and PALETTE COLOR indices losslessly
    only (.110; :mod:`.jpegxl` says how signed values are stored). .112 uses
    ``distance`` (Butteraugli, default 0.3); both take ``effort`` (1-10). .111 is made by
    encoding 8-bit samples as a baseline JPEG (``quality``, ``subsampling``)
    and recompressing that stream losslessly with ``jpegxl_encode_jpeg``; the
    frame keeps the JPEG's YBR_FULL_422 / YBR_FULL. Decoding .111 gives RGB.

Decoding follows :mod:`dicomframe.codecs._common`; libjpeg-turbo makes JPEG YCbCr RGB (T.871 in
fixed point, within 1 of numpy's exact result), and ``out`` is used (``helpers.decode_target``).
One module per family does the work (:mod:`.jpeg`, :mod:`.j2k`, :mod:`.jpegxl`); this one
declares the codecs.
"""

from __future__ import annotations

import functools
import math

from dicomframe.codecs import _common, rle
from dicomframe.codecs.imagecodecs.common import (
    HTJ2K_NAME,
    J2K_NAME,
    JPEG_NAME,
    JPEGLS_NAME,
    JPEGXL_NAME,
    LJPEG_NAME,
    RLE_NAME,
    built_with,
    lossy_check,
)
from dicomframe.codecs.imagecodecs.j2k import decode_htj2k, decode_j2k, encode_htj2k, encode_j2k
from dicomframe.codecs.imagecodecs.jpeg import (
    PROGRESSIVE_SYNTAXES,
    decode_jpeg,
    decode_jpegls,
    encode_jpeg,
    encode_jpegls,
    jpeg_check,
)
from dicomframe.codecs.imagecodecs.jpegxl import decode_jpegxl, encode_jpegxl, jpegxl_check
from dicomframe.codecs.imagecodecs.ljpeg import decode_ljpeg
from dicomframe.codecs.imagecodecs.packbits import decode_rle, encode_rle
from dicomframe.codecs.jpegls import JPEGLS_PHOTOMETRIC
from dicomframe.core.transfer_syntax import (
    JPEGXL,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGXLJPEGRecompression,
    JPEGXLLossless,
    RLELossless,
)
from dicomframe.plugins import Capabilities, Codec, hookimpl
from dicomframe.plugins.codec import Threading

__all__ = ["HTJ2K", "J2K", "JPEG", "JPEGLS", "JPEGXL_CODEC", "LJPEG", "RLE", "dicomframe_codecs"]

_REQUIRES = ("imagecodecs>=2024.1.1",)
_JPEGXL_SYNTAXES = frozenset(ts.uid for ts in (JPEGXLLossless, JPEGXLJPEGRecompression, JPEGXL))
_MONO_COLOUR = frozenset({"MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL"})

# -- the codecs -------------------------------------------------------------------------------
# imagecodecs' Cython wrappers release the GIL around every library call (2 threads: 1.4x-2.0x,
# benchmarks/bench_codecs.py section 5).
_imagecodecs = functools.partial(
    Codec,
    modules=("imagecodecs",),
    requires=_REQUIRES,
    priority=1,
    threading=Threading.RELEASES_GIL,
)
_UP_TO_16 = Capabilities(max_bits_stored=16)
_ENCODE_CAPS = Capabilities(max_bits_stored=16, photometric=JPEGLS_PHOTOMETRIC)

JPEG = _imagecodecs(
    name=JPEG_NAME,
    transfer_syntaxes=_common.JPEG_SYNTAXES | PROGRESSIVE_SYNTAXES,
    encode_syntaxes=_common.JPEG_SYNTAXES,
    decode=decode_jpeg,
    encode=encode_jpeg,
    decode_caps=_UP_TO_16,
    encode_caps=Capabilities(
        max_bits_stored=16, photometric=frozenset({*JPEGLS_PHOTOMETRIC, "YBR_FULL_422"})
    ),
    extra_check=jpeg_check,
    encode_check=lossy_check,
    psnr_floor=30.0,  # quality 95, 4:2:2: 31.1 dB at worst on 8-bit RGB, 66 on 12-bit mono
)
JPEGLS = _imagecodecs(
    name=JPEGLS_NAME,
    transfer_syntaxes=_common.JPEG_LS_SYNTAXES,
    decode=decode_jpegls,
    encode=encode_jpegls,
    decode_caps=_UP_TO_16,
    encode_caps=_ENCODE_CAPS,
    extra_check=built_with("JPEGLS", "JPEG-LS (CharLS)"),
    psnr_floor=math.inf,  # Near-Lossless defaults to NEAR 0: exact
)
J2K = _imagecodecs(
    name=J2K_NAME,
    transfer_syntaxes=_common.J2K_SYNTAXES,
    decode=decode_j2k,
    encode=encode_j2k,
    decode_caps=Capabilities(bits_allocated=frozenset({8, 16, 32})),
    encode_caps=_ENCODE_CAPS,
    extra_check=built_with("JPEG2K", "JPEG 2000 (OpenJPEG)"),
    # 9-7 wavelet, no rate control: 55 dB at worst on 8-bit images, 79 on 12-bit, but 34.8 on
    # a 7x9 frame of 6-bit YBR_FULL (dicomframe.testing's smooth source)
    psnr_floor=34.0,
)
HTJ2K = _imagecodecs(
    name=HTJ2K_NAME,
    transfer_syntaxes=_common.HTJ2K_SYNTAXES,
    decode=decode_htj2k,
    encode=encode_htj2k,
    decode_caps=Capabilities(bits_allocated=frozenset({8, 16, 32})),
    encode_caps=_ENCODE_CAPS,
    extra_check=built_with("HTJ2K", "HTJ2K (OpenJPH)"),
    # OpenJPH's default qstep: 54.8 dB at worst on 8-bit images, 79 on 12-bit, 38.7 on a 7x9
    # frame of 6-bit YBR_FULL as OpenJPEG reads it
    psnr_floor=38.0,
)
JPEGXL_CODEC = _imagecodecs(
    name=JPEGXL_NAME,
    transfer_syntaxes=_JPEGXL_SYNTAXES,
    decode=decode_jpegxl,
    encode=encode_jpegxl,
    decode_caps=_UP_TO_16,
    encode_caps=Capabilities(
        max_bits_stored=16, photometric=frozenset({*_MONO_COLOUR, "PALETTE COLOR"})
    ),
    extra_check=built_with("JPEGXL", "JPEG XL (libjxl)"),
    encode_check=jpegxl_check,
    # distance 0.3 (.112): 32.8 dB at worst on 8-bit RGB, 58 on 12-bit mono; .111 (a quality 95
    # JPEG) 31.2 dB
    psnr_floor=30.0,
)

LJPEG = _imagecodecs(
    name=LJPEG_NAME,
    transfer_syntaxes=frozenset({JPEGLossless.uid, JPEGLosslessSV1.uid}),
    decode=decode_ljpeg,
    decode_caps=_UP_TO_16,
    extra_check=built_with("LJPEG", "lossless JPEG (liblj92)"),
    priority=0,  # after libjpeg-turbo (1), before pylibjpeg-libjpeg (-10)
)

RLE = _imagecodecs(
    name=RLE_NAME,
    transfer_syntaxes=frozenset({RLELossless.uid}),
    decode=decode_rle,
    encode=encode_rle,
    decode_caps=rle.CAPABILITIES,
    encode_caps=rle.CAPABILITIES,
    extra_check=rle.why_not,
    # The first decoder, before pylibjpeg-rle (9): 512x512 int16 CT, 0.41 ms a frame against
    # 0.74. The second encoder (8): both encode segment by segment as fast (0.79 / 0.72 ms),
    # and the conversion that verifies what pylibjpeg-rle encoded decodes with this one.
    priority=10,
    encode_priority=8,
)


@hookimpl
def dicomframe_codecs() -> list[Codec]:
    """The imagecodecs codecs (imagecodecs is imported on first use)."""
    return [JPEG, JPEGLS, J2K, HTJ2K, JPEGXL_CODEC, RLE, LJPEG]
