"""The "dicomframe" encoding plugin of pydicom 3: one frame through dicomframe's codec registry.

pydicom hands the plugin one frame's samples, each in the smallest container
its Bits Stored fits (8, 16 or 32 bits, little endian), planes apart when the
runner's planar configuration is 1, and takes back the codestream. The
plugin makes a :class:`~dicomframe.NativeFrame` of them (samples
interleaved, as dicomframe's codecs take them) and maps pydicom's encoding
options to dicomframe's: ``jls_error`` is ``lossy_error``, ``j2k_cr`` and
``j2k_psnr`` are ``compression_ratios`` and ``signal_noise_ratios``. RGB is
encoded as RGB (no multiple-component transform), since pydicom keeps the
dataset's Photometric Interpretation; a codec that would change it is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe.core.frame import NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.core.transfer_syntax import resolve
from dicomframe.errors import EncodeError
from dicomframe.interop import _pydicom_plugins

if TYPE_CHECKING:
    from pydicom.pixels.encoders.base import EncodeRunner

__all__ = ["ENCODER_DEPENDENCIES", "encode_frame", "is_available"]

# Read by pydicom only where is_available() is False; register() never adds the plugin there.
ENCODER_DEPENDENCIES: dict[str, tuple[str, ...]] = {}
_OPTIONS = {
    "jls_error": "lossy_error",
    "j2k_cr": "compression_ratios",
    "j2k_psnr": "signal_noise_ratios",
}


def is_available(uid: str) -> bool:
    """True when the registry has an available codec that encodes ``uid``."""
    return uid in _pydicom_plugins.syntaxes(encoding=True)


def _container(bits_stored: int) -> int:
    """The bits of the container pydicom hands samples of ``bits_stored`` bits in."""
    return 8 if bits_stored <= 8 else 16 if bits_stored <= 16 else 32


def encode_frame(src: bytes, runner: EncodeRunner) -> bytes:
    """Encode one frame with the registry; the codestream of one fragment."""
    samples, bits = runner.samples_per_pixel, _container(runner.bits_stored)
    kind = "i" if runner.pixel_representation else "u"
    values = np.frombuffer(src, dtype=f"<{kind}{bits // 8}")
    if samples > 1 and runner.planar_configuration == 1:
        values = values.reshape(samples, -1).T.ravel()  # planes -> interleaved samples
    photometric = str(runner.photometric_interpretation)
    info = FrameInfo(
        rows=runner.rows,
        columns=runner.columns,
        samples_per_pixel=samples,
        bits_allocated=bits,
        bits_stored=runner.bits_stored,
        high_bit=runner.bits_stored - 1,
        pixel_representation=runner.pixel_representation,
        photometric_interpretation=photometric,
    )
    options: dict[str, Any] = {
        ours: runner.get_option(theirs)
        for theirs, ours in _OPTIONS.items()
        if runner.get_option(theirs) is not None
    }
    if photometric == "RGB":
        options["use_mct"] = False
    syntax = resolve(str(runner.transfer_syntax))
    frame = NativeFrame(np.ascontiguousarray(values, dtype=info.dtype), info)
    encoded = _pydicom_plugins.registry().encode(frame, syntax, **options)
    if encoded.info.photometric_interpretation != photometric:
        raise EncodeError(
            f"{syntax.keyword}: the codec made {encoded.info.photometric_interpretation} of "
            f"{photometric}, which pydicom would not record in the dataset"
        )
    return bytes(encoded.data)
