"""The "dicomframe" decoding plugin of pydicom 3: one frame through dicomframe's codec registry.

pydicom hands the plugin one encoded frame and its ``DecodeRunner``; the
plugin answers with the decoded bytes, laid out as the runner's options say,
and sets those options to what the decoded frame really is: a codec that
turns YBR_FULL_422 JPEG into RGB says so in its frame's FrameInfo, and the
runner is told, so pydicom does not convert the colours a second time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dicomframe.core.frame import EncapsulatedFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.interop import _pydicom_plugins

if TYPE_CHECKING:
    from pydicom.pixels.decoders.base import DecodeRunner

__all__ = ["DECODER_DEPENDENCIES", "decode_frame", "is_available"]


# pydicom reads this only for a syntax whose is_available() is False, and register() adds
# the plugin only where it is True.
DECODER_DEPENDENCIES: dict[str, tuple[str, ...]] = {}


def is_available(uid: str) -> bool:
    """True when the registry has an available codec that decodes ``uid``."""
    return uid in _pydicom_plugins.syntaxes(encoding=False)


def decode_frame(src: bytes, runner: DecodeRunner) -> bytes:
    """Decode one frame with the registry; tell ``runner`` what the decoded frame is."""
    samples = runner.samples_per_pixel
    info = FrameInfo(
        rows=runner.rows,
        columns=runner.columns,
        samples_per_pixel=samples,
        bits_allocated=runner.bits_allocated,
        bits_stored=runner.bits_stored,
        high_bit=runner.bits_stored - 1,
        pixel_representation=runner.pixel_representation,
        photometric_interpretation=str(runner.photometric_interpretation),
        planar_configuration=runner.get_option("planar_configuration", 0) if samples > 1 else 0,
        transfer_syntax_uid=str(runner.transfer_syntax),
    )
    native = _pydicom_plugins.registry().decode(EncapsulatedFrame([src], info))
    out = native.info
    runner.set_option("photometric_interpretation", out.photometric_interpretation)
    runner.set_option("bits_allocated", out.bits_allocated)
    if samples > 1:
        runner.set_option("planar_configuration", out.planar_configuration)
    return native.data.astype(native.data.dtype.newbyteorder("<"), copy=False).tobytes()
