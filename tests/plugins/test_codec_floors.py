"""Every built-in lossy encoder declares a PSNR floor, and its default settings keep it.

The images are the real ones among those the floors were measured on that came out worst for
some encoder (pydicom's and testdata/'s 8-bit RGB, 8-bit grey and 12-bit mono frames): a 60x80
ultrasound (ExplVR_BigEnd), a 240x320 one, a 32x32 four-level test pattern (chrArab) and a
12-bit MR. The floors also cover dicomframe.testing's smooth sources of every layout, which
check_codec holds the codecs to (tests/codecs). PSNR has peak 2**Bits Stored - 1, as there.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.codecs import imagecodecs, jpegls, pillow, pylibjpeg
from dicomframe.core.frame import NativeFrame
from dicomframe.core.transfer_syntax import resolve
from dicomframe.plugins import Codec, CodecManager
from tests.codecs.common import require_backend
from tests.reference import TESTDATA, pydicom_files

Array = np.ndarray[Any, Any]
BUILTIN = [c for m in (imagecodecs, jpegls, pillow, pylibjpeg) for c in m.dicomframe_codecs()]
LOSSY = [
    c
    for c in BUILTIN
    if c.encode is not None
    and any(resolve(uid).is_lossy for uid in c.encode_syntaxes or c.transfer_syntaxes)
]
IMAGES = ["ExplVR_BigEnd", "examples_rgb_color", "chrArab", "mr_multiframe_uint16"]


def image(stem: str) -> NativeFrame:
    """Frame 0 of the file, decoded, as colour-by-pixel native data."""
    paths = {p.stem: p for p in [*pydicom_files(), *TESTDATA.glob("*.dcm")]}
    with dcf.read(paths[stem]) as ds:
        frame = ds.pixel_data[0]
        native = frame.decode() if isinstance(frame, dcf.EncapsulatedFrame) else frame
        data = np.ascontiguousarray(native.array).reshape(-1).copy()
    info = native.info.replace(planar_configuration=0, transfer_syntax_uid="1.2.840.10008.1.2.1")
    return NativeFrame(data, info)


def psnr(got: Array, wanted: Array, bits: int) -> float:
    error = np.mean((got.astype(np.float64) - wanted.astype(np.float64)) ** 2)
    return math.inf if error == 0 else float(10 * np.log10(((1 << bits) - 1) ** 2 / error))


def test_every_lossy_encoder_declares_a_floor() -> None:
    assert {c.name for c in LOSSY} == {
        "imagecodecs-jpeg",
        "imagecodecs-jpegls",
        "imagecodecs-j2k",
        "imagecodecs-htj2k",
        "imagecodecs-jpegxl",
        "pyjpegls",
        "pillow",
        "pylibjpeg-openjpeg",
    }
    assert all(c.psnr_floor is not None for c in LOSSY)
    # JPEG and JPEG XL: the 30 dB the docs promise for 8-bit RGB
    floors = {c.name: c.psnr_floor for c in LOSSY}
    assert floors["imagecodecs-jpeg"] == floors["pillow"] == floors["imagecodecs-jpegxl"] == 30.0


@pytest.mark.parametrize("codec", LOSSY, ids=lambda c: c.name)
def test_default_settings_keep_the_declared_floor(codec: Codec) -> None:
    require_backend(codec)
    assert codec.psnr_floor is not None
    decoders = CodecManager()
    tried = 0
    for stem in IMAGES:
        source = image(stem)
        for uid in sorted(codec.encode_syntaxes or codec.transfer_syntaxes):
            syntax = resolve(uid)
            if not syntax.is_lossy or codec.why_not(source.info, encoding=True, syntax=syntax):
                continue
            assert codec.encode is not None
            decoded = decoders.decode(codec.encode(source, syntax))
            assert decoded.info.photometric_interpretation == source.info.photometric_interpretation
            quality = psnr(decoded.array, source.array, source.info.bits_stored)
            assert quality >= codec.psnr_floor, f"{stem} as {syntax.keyword}: {quality:.1f} dB"
            tried += 1
    assert tried >= 2  # an 8-bit RGB or grey frame, and another
