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

# A YBR_FULL frame with Bits Stored 6 has its chroma centred at 32 (dicomframe.color, n = Bits
# Stored); stored as it is in an 8-bit JPEG, its YCbCr must be read back at 6 bits, not at the
# stream's precision of 8 (centred at 128), which only fits YCbCr the encoder made from RGB.
_BITS_STORED_6_YBR = (
    "an 8-bit JPEG of YBR_FULL samples with Bits Stored 6 decodes to the wrong colours "
    "(3.4 dB): its YCbCr is converted at the stream's precision, not at Bits Stored"
)
KNOWN_BUGS = {
    "imagecodecs-jpeg": _BITS_STORED_6_YBR,
    "imagecodecs-jpegxl": f"JPEG XL JPEG Recompression: {_BITS_STORED_6_YBR}",
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
