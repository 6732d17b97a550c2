"""The retired progressive JPEG processes: spectral selection (.53) and full progression (.55).

Real progressive streams come from two encoders: DCMTK's ``dcmcjpeg +es`` / ``+ep`` (a file
dicomframe wrote natively, compressed by DCMTK) and Pillow's libjpeg-turbo
(``progressive=True``), encapsulated by dicomframe as .55. Their scan headers are checked first,
so a test never passes on a sequential stream that only claims to be progressive.

Every codec that claims the syntax decodes them, compared with:

- DCMTK's ``dcmdjpeg +cn`` (no colour conversion), an independent decoder: EXACT for
  ``imagecodecs-jpeg`` and ``pillow`` (libjpeg-turbo, like DCMTK's IJG code, uses the islow
  IDCT and triangular chroma upsampling), within 1 per sample for ``pylibjpeg-libjpeg`` on
  these smooth frames (its own IDCT and upsampling);
- the source pixels: at least 35 dB PSNR at the encoders' quality 90.

Without DCMTK, Pillow's streams are still checked: imagecodecs and Pillow decode them alike,
and against the source.
"""

from __future__ import annotations

import io
import subprocess
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.codecs import _common, pillow, pylibjpeg
from dicomframe.codecs import imagecodecs as plugin
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.errors import NoCodecError
from dicomframe.plugins import Codec, CodecManager
from tests.codecs.common import case_id, require_backend
from tests.codecs.test_jpegls import assert_truthful, psnr, smooth_frame
from tests.reference import require_tool

Array = np.ndarray[Any, Any]

SPECTRAL = "1.2.840.10008.1.2.4.53"
PROGRESSIVE = "1.2.840.10008.1.2.4.55"
CODECS = [plugin.JPEG, pillow.PILLOW, pylibjpeg.LIBJPEG]
TOLERANCE = {"imagecodecs-jpeg": 0, "pillow": 0, "pylibjpeg-libjpeg": 1}
FLOOR = 35.0  # dB against the source, quality 90

# (dtype, samples, bits, frames): what DCMTK compresses. Pillow writes the 8-bit ones.
LAYOUTS = [("u1", 1, 8, 1), ("u1", 3, 8, 1), ("u2", 1, 12, 1), ("u1", 1, 8, 2)]


@pytest.fixture
def codecs(manager: CodecManager) -> CodecManager:
    manager.register(plugin, "imagecodecs")
    manager.register(pillow, "pillow")
    manager.register(pylibjpeg, "pylibjpeg")
    return manager


# -- streams ----------------------------------------------------------------------------------
def markers(data: bytes) -> tuple[list[int], list[tuple[int, int, int, int]]]:
    """The stream's markers before each scan, and (Ss, Se, Ah, Al) of each scan header
    (ISO/IEC 10918-1 B.2.3), read independently of the codecs."""
    seen, found, offset = [], [], 2
    while offset < len(data) and data[offset : offset + 2] != b"\xff\xd9":
        length = int.from_bytes(data[offset + 2 : offset + 4], "big")
        seen.append(int.from_bytes(data[offset : offset + 2], "big"))
        if data[offset : offset + 2] != b"\xff\xda":
            offset += 2 + length
            continue
        end = offset + 2 + length
        ss, se, a = data[end - 3], data[end - 2], data[end - 1]
        found.append((ss, se, a >> 4, a & 15))
        offset = end
        while data[offset] != 0xFF or data[offset + 1] == 0 or 0xD0 <= data[offset + 1] <= 0xD7:
            offset += 1  # entropy-coded data, stuffed bytes and restart markers
    return seen, found


def assert_progressive(data: bytes, uid: str) -> None:
    """The stream is progressive (SOF2) and its scans are what ``uid`` says (Annex G)."""
    seen, found = markers(data)
    assert [m for m in seen if m in _common.SOF_MARKERS] == [0xFFC2]
    assert len(found) > 1
    approximation = [(ah, al) for _, _, ah, al in found if (ah, al) != (0, 0)]
    if uid == SPECTRAL:
        assert approximation == []  # spectral selection only
    else:
        assert approximation  # successive approximation too


def native_frames(dtype: str, samples: int, bits: int, frames: int) -> list[NativeFrame]:
    first = smooth_frame(dtype, samples, bits=bits, shape=(40, 33))
    flipped = NativeFrame(np.ascontiguousarray(first.array[::-1]).reshape(-1), first.info)
    return [first, flipped][:frames]


def source_dataset(natives: list[NativeFrame]) -> dcf.Dataset:
    ds = dcf.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.55"
    ds.set_pixel_data(natives, "ExplicitVRLittleEndian")
    return ds


def dcmtk_file(natives: list[NativeFrame], uid: str, tmp_path: Path) -> Path:
    """The frames written natively by dicomframe, compressed by dcmcjpeg +es or +ep.

    +sr: monochrome values are scaled by the range of Bits Stored, which leaves them as
    they are (the default, +sp, stretches the frame's own minimum and maximum to it).
    """
    native, out = tmp_path / "native.dcm", tmp_path / "dcmtk.dcm"
    dcf.write(source_dataset(natives), native)
    flag = "+es" if uid == SPECTRAL else "+ep"
    command = [require_tool("dcmcjpeg"), flag, "+sr", str(native), str(out)]
    subprocess.run(command, check=True)
    return out


def pillow_stream(native: NativeFrame) -> bytes:
    """A full-progression stream written by Pillow (libjpeg-turbo), YCbCr 4:2:2 for colour."""
    from PIL import Image

    mode = "RGB" if native.info.samples_per_pixel == 3 else "L"
    buffer = io.BytesIO()
    Image.fromarray(native.array, mode).save(
        buffer, "JPEG", progressive=True, quality=90, subsampling=1
    )
    return buffer.getvalue()


def pillow_file(natives: list[NativeFrame], tmp_path: Path) -> Path:
    """Pillow's progressive streams, encapsulated as .55 by dicomframe."""
    info = natives[0].info
    photometric = "YBR_FULL_422" if info.samples_per_pixel == 3 else info.photometric_interpretation
    encoded = [
        EncapsulatedFrame(
            [pillow_stream(n)],
            info.replace(transfer_syntax_uid=PROGRESSIVE, photometric_interpretation=photometric),
        )
        for n in natives
    ]
    ds = source_dataset(natives)
    ds.set_pixel_data(encoded, PROGRESSIVE)
    path = tmp_path / "pillow.dcm"
    dcf.write(ds, path)
    return path


def dcmtk_decoded(path: Path, tmp_path: Path) -> Array:
    """``path`` decompressed by dcmdjpeg without colour conversion, read by pydicom."""
    import pydicom

    out = tmp_path / "dcmdjpeg.dcm"
    subprocess.run([require_tool("dcmdjpeg"), "+cn", str(path), str(out)], check=True)
    ds = pydicom.dcmread(out)
    ds.pixel_array_options(as_rgb=False)
    array = ds.pixel_array
    return array if "NumberOfFrames" in ds and int(ds.NumberOfFrames) > 1 else array[np.newaxis]


def decoded(manager: CodecManager, path: Path, codec: Codec, *, as_rgb: bool) -> Array:
    pixels = dcf.read(path).pixel_data
    frames = []
    for frame in pixels:
        assert isinstance(frame, EncapsulatedFrame)
        native = manager.decode(frame, codec=codec.name, as_rgb=as_rgb)
        assert_truthful(native, pixels.info)
        expected = "RGB" if as_rgb else "YBR_FULL"
        if pixels.info.samples_per_pixel == 3:
            assert native.info.photometric_interpretation == expected
        frames.append(native.array)
    return np.stack(frames)


def frames_of(path: Path) -> list[bytes]:
    return [bytes(f.data) for f in dcf.read(path).pixel_data]


def layouts_for(codec: Codec) -> list[Any]:
    """Pillow's libjpeg decodes 8-bit streams only (it declines 12-bit ones, tested below)."""
    return [x for x in LAYOUTS if codec is not pillow.PILLOW or x[2] == 8]


# -- DCMTK's streams ---------------------------------------------------------------------------
DCMTK_CASES = [
    pytest.param(codec, uid, layout, id=f"{codec.name}-{uid[-2:]}-{'-'.join(map(str, layout))}")
    for codec in CODECS
    for uid in (SPECTRAL, PROGRESSIVE)
    for layout in layouts_for(codec)
]


@pytest.mark.parametrize(("codec", "uid", "layout"), DCMTK_CASES)
def test_dcmtk_streams_decode_as_dcmtk_decodes_them(
    codecs: CodecManager,
    codec: Codec,
    uid: str,
    layout: tuple[str, int, int, int],
    tmp_path: Path,
) -> None:
    require_backend(codec)
    dtype, samples, bits, count = layout
    natives = native_frames(dtype, samples, bits, count)
    path = dcmtk_file(natives, uid, tmp_path)
    assert dcf.read(path).transfer_syntax == dcf.TransferSyntax.resolve(uid)
    for stream in frames_of(path):
        assert_progressive(stream, uid)
    ours = decoded(codecs, path, codec, as_rgb=False)
    theirs = dcmtk_decoded(path, tmp_path)
    assert ours.shape == theirs.shape
    difference = np.abs(ours.astype(np.int64) - theirs.astype(np.int64))
    assert difference.max() <= TOLERANCE[codec.name]
    source = np.stack([n.array for n in natives])
    assert psnr(decoded(codecs, path, codec, as_rgb=True), source, bits) >= FLOOR


# -- Pillow's streams ----------------------------------------------------------------------------
PILLOW_LAYOUTS = [x for x in LAYOUTS if x[2] == 8]


@pytest.mark.parametrize("codec", CODECS, ids=case_id)
@pytest.mark.parametrize("layout", PILLOW_LAYOUTS, ids=str)
def test_pillow_streams_decode_close_to_the_source(
    codecs: CodecManager, codec: Codec, layout: tuple[str, int, int, int], tmp_path: Path
) -> None:
    require_backend(codec)
    dtype, samples, bits, count = layout
    natives = native_frames(dtype, samples, bits, count)
    path = pillow_file(natives, tmp_path)
    for stream in frames_of(path):
        assert_progressive(stream, PROGRESSIVE)
    source = np.stack([n.array for n in natives])
    assert psnr(decoded(codecs, path, codec, as_rgb=True), source, bits) >= FLOOR
    reference = decoded(codecs, path, plugin.JPEG, as_rgb=False)
    difference = np.abs(decoded(codecs, path, codec, as_rgb=False).astype(np.int64) - reference)
    assert difference.max() <= TOLERANCE[codec.name]


@pytest.mark.parametrize("layout", PILLOW_LAYOUTS, ids=str)
def test_pillow_streams_decode_as_dcmtk_decodes_them(
    codecs: CodecManager, layout: tuple[str, int, int, int], tmp_path: Path
) -> None:
    require_backend(plugin.JPEG)
    path = pillow_file(native_frames(*layout), tmp_path)
    theirs = dcmtk_decoded(path, tmp_path)
    np.testing.assert_array_equal(decoded(codecs, path, plugin.JPEG, as_rgb=False), theirs)


# -- what is declared --------------------------------------------------------------------------
@pytest.mark.parametrize("uid", [SPECTRAL, PROGRESSIVE])
def test_progressive_syntaxes_are_decoded_not_encoded(codecs: CodecManager, uid: str) -> None:
    for codec in CODECS:
        assert uid in codec.transfer_syntaxes
        assert codec.handles(uid, encoding=False)
        assert not codec.handles(uid, encoding=True)
    with pytest.raises(NoCodecError):
        codecs.encode(smooth_frame("u1"), uid)


def test_pillow_declines_twelve_bit_progressive_streams(codecs: CodecManager) -> None:
    info = smooth_frame("u2", bits=12).info.replace(transfer_syntax_uid=PROGRESSIVE)
    reason = pillow.PILLOW.why_not(info)
    assert reason is not None
    assert "8-bit JPEG only" in reason


def test_the_registry_picks_imagecodecs_first(codecs: CodecManager, tmp_path: Path) -> None:
    require_backend(plugin.JPEG)
    path = pillow_file(native_frames("u1", 1, 8, 1), tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = dcf.read(path).pixel_data[0]
        assert isinstance(frame, EncapsulatedFrame)
        _, used = codecs.decode_with(frame)
    assert used == plugin.JPEG.name
