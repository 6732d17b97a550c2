"""Every installed built-in codec passes check_codec, against every other installed codec.

Where check_codec finds a real bug in a built-in codec, the case is an
expected failure naming the bug (strict: it turns red once the codec is
fixed, so the mark goes with the bug).
"""

from __future__ import annotations

import pytest

import dicomframe as dcf
from dicomframe.plugins import Codec
from dicomframe.testing import check_codec

INSTALLED = [row.codec for row in dcf.list_codecs() if row.available]

# pillow and pylibjpeg-libjpeg convert a JPEG's YCbCr to RGB at Bits Stored, not at the
# stream's precision (PS3.5 8.2.1: the JPEG stream's own characteristics decode it): an 8-bit
# JPEG of RGB with Bits Stored 6 comes back in the wrong colours (5.6 dB against the source and
# against libjpeg-turbo's own reading of the stream).
_BITS_STORED_6_RGB = (
    "pillow and pylibjpeg-libjpeg read an 8-bit JPEG of RGB samples with Bits Stored 6 in the "
    "wrong colours (YCbCr converted at Bits Stored, not at the stream's precision)"
)
KNOWN_BUGS = {
    "imagecodecs-jpeg": _BITS_STORED_6_RGB,
    "pillow": _BITS_STORED_6_RGB,
    "pylibjpeg-libjpeg": _BITS_STORED_6_RGB,
    "imagecodecs-jpegxl": (
        "JPEG XL JPEG Recompression of YBR_FULL samples with Bits Stored 6 decodes to the "
        "wrong colours (3.4 dB)"
    ),
}


def case(codec: Codec) -> object:
    reason = KNOWN_BUGS.get(codec.name)
    if reason is None:
        return codec
    return pytest.param(
        codec, marks=pytest.mark.xfail(reason=reason, raises=AssertionError, strict=True)
    )


def test_the_built_ins_are_installed() -> None:
    assert {"rle", "deflate", "encapsulated-uncompressed"} <= {c.name for c in INSTALLED}


@pytest.mark.parametrize("codec", [case(c) for c in INSTALLED], ids=lambda c: c.name)
def test_passes_check_codec(codec: Codec) -> None:
    report = check_codec(codec)
    if codec.encode is not None:
        assert report.round_trips
    if codec.decode is not None:
        assert any(decoder == codec.name for _, decoder, _ in report.pairs) or report.round_trips
