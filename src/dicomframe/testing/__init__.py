"""Conformance checks a codec plugin runs in its own test suite: :func:`check_codec`.

``check_codec(codec)`` holds a :class:`~dicomframe.plugins.Codec` to the
contract the registry relies on, on every layout the codec declares it
handles, and raises AssertionError naming the layout at the first breach::

    from dicomframe.testing import check_codec
    from my_plugin import MY_CODEC

    def test_conformance():
        report = check_codec(MY_CODEC)
        print(report)  # what was tried, skipped (and why) and cross-checked

What it checks, and where:

- :mod:`.layouts`: the native layouts the codec's Capabilities admit (Bits
  Allocated 1 to 64, Bits Stored below Bits Allocated with dirty high bits,
  signed, 1, 3 and 4 samples, every photometric interpretation, planar
  configurations, odd and minimal sizes).
- :mod:`.pixels`: source frames, and the clean values a decoder must give.
- :mod:`.checks`: what a decoder and an encoder return (frames in, frames out).
- :mod:`.compare`: lossless exactness, lossy PSNR floors (``Codec.psnr_floor``),
  and a decoded FrameInfo that tells the truth about its colour model.
- :mod:`.trials`: multi-frame decoding into ``out=`` buffers; refusals.
- :mod:`.kit`: the run, and interoperability with every other installed
  codec of each syntax, both ways.
- :mod:`.report`: :class:`CodecReport`, what the run exercised.
"""

from dicomframe.testing.kit import check_codec
from dicomframe.testing.layouts import Layout, layouts
from dicomframe.testing.report import CodecReport, CrossCheck, Skip, Trial

__all__ = ["CodecReport", "CrossCheck", "Layout", "Skip", "Trial", "check_codec", "layouts"]
