"""The transcoding matrix: every pixel-bearing reference file x every syntax with an encoder.

For each source (pydicom's bundled files and testdata/, minus ``REFUSED``) and
each target that some registered codec can encode (plus the three native
syntaxes, the ways back), ``dcf.transcode`` either succeeds or raises a
:class:`dcf.DicomError` that says why. A result must:

- be written by ``dcf.write`` and pass ``dcmdump`` with no W:/E: lines;
- decode (with dicomframe) to exactly the source pixels for a lossless target,
  colour compared as RGB (a YBR source decodes to RGB);
- decode the same way with a peer, for every target: DCMTK (dcmdjpeg, dcmdrle, dcmdjpls;
  dcmconv for the native syntaxes), GDCM (``gdcmconv --raw``), pydicom, or, where none of them
  decodes the syntax, pydicom's fragments and the backend library called directly
  (:mod:`tests.peers` says which);
- for a lossy target, stay above the PSNR floor of :data:`PSNR_FLOOR` (dB, over
  all frames, peak 2**BitsStored - 1) and carry Lossy Image Compression "01",
  the ratio and method appended, and a new SOP Instance UID.

The other direction: DCMTK's and GDCM's compressors write a few small sources in every
syntax they encode, and dicomframe decodes those files as the peer's own decompressor does.

Sources are deduplicated by layout (transfer syntax, size, samples, bits, sign,
photometric, planar configuration, single or multi-frame, pixel element): the
charset files (chr*.dcm) are one 32x32 8-bit layout and are tested through the
first of them, and likewise the few other files that repeat a layout exactly.
"""

from __future__ import annotations

import math
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.color import ybr_to_rgb
from dicomframe.core.frame_info import PIXEL_KEYWORDS, FrameInfo
from dicomframe.core.transfer_syntax import ExplicitVRLittleEndian, TransferSyntax, resolve
from dicomframe.plugins.manager import default_manager
from dicomframe.transcoding import LOSSY_METHODS
from tests.peers import PEER_ENCODERS, PeerEncoder, peer_decoded, peer_decompressed, peer_encoded
from tests.reference import REFUSED, project_files, pydicom_files, require_tool

Array = np.ndarray[Any, Any]

# Lossy tolerances: PSNR floors (dB) at each codec's default settings, over all frames
# and samples (RGB for colour), peak 2**BitsStored - 1. JPEG-LS Near-Lossless defaults
# to NEAR = 0, which is exact: it is held to a largest error of 0 instead.
PSNR_FLOOR = {  # docs/transcoding.md, "Lossy defaults"
    "JPEGBaseline8Bit": 30.0,  # quality 95, 4:2:2 chroma
    "JPEGExtended12Bit": 30.0,
    "JPEGXLJPEGRecompression": 30.0,  # a baseline JPEG, recompressed losslessly
    "JPEGXL": 30.0,  # distance 0.3
    "JPEG2000": 45.0,  # irreversible 9-7 wavelet, no rate control
    "JPEG2000MC": 45.0,
    "HTJ2K": 30.0,
}
MAX_ERROR = {"JPEGLSNearLossless": 0}
# testdata/rgb_planar*.dcm have a blue channel of uniform random noise, which no lossy
# coder keeps: 19.1 dB with JPEG, 27.4 with JPEG XL. They are held to this floor instead.
NOISE_SOURCES = {"rgb_planar0", "rgb_planar1"}
NOISE_FLOOR = 15.0


def _read(path: Path) -> dcf.Dataset:
    try:
        return dcf.read(path)
    except dcf.InvalidDicomError:  # pydicom's files without preamble and meta
        return dcf.read(path, force=True)


def _info(path: Path) -> tuple[bool, FrameInfo | None]:
    """Whether the file has pixels, and their FrameInfo (None when it is broken)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = _read(path)
    if not any(tag in ds for tag in PIXEL_KEYWORDS):
        return False, None
    try:
        return True, FrameInfo.from_dataset(ds)
    except dcf.DicomError:
        return True, None


def _layout(path: Path, info: FrameInfo | None) -> tuple[Any, ...]:
    """The key sources are deduplicated by: all of FrameInfo but the frame count and size."""
    if info is None:
        return (path.name,)  # broken pixel attributes: its own case
    return (info.replace(number_of_frames=1), info.number_of_frames > 1)


def _sources() -> dict[Path, FrameInfo | None]:
    """The source files, one per layout, with their FrameInfo."""
    chosen: dict[Path, FrameInfo | None] = {}
    seen: set[tuple[Any, ...]] = set()
    for path in [*pydicom_files(), *project_files()]:
        if path.name in REFUSED:
            continue
        has_pixels, info = _info(path)
        key = _layout(path, info)
        if has_pixels and key not in seen:
            seen.add(key)
            chosen[path] = info
    return chosen


def _targets() -> list[TransferSyntax]:
    """Every syntax some registered codec encodes, then the ways back to native."""
    uids = {
        uid
        for status in default_manager().codecs()
        for uid in status.codec.transfer_syntaxes
        if status.codec.handles(uid, encoding=True)
    }
    natives = [
        ExplicitVRLittleEndian,
        resolve("ImplicitVRLittleEndian"),
        resolve("ExplicitVRBigEndian"),
    ]
    return [*sorted((resolve(u) for u in uids), key=lambda ts: ts.uid), *natives]


SOURCES = _sources()
TARGETS = _targets()


def _matrix() -> list[Any]:
    return [
        pytest.param(path, target, id=f"{path.stem}-{target.keyword}")
        for path in SOURCES
        for target in TARGETS
    ]


# -- pixels as RGB (or as stored, for monochrome and palette) ---------------------------
def as_compared(array: Array, photometric: str, bits: int) -> Array:
    """Pixels as compared: YBR samples converted to RGB, others as they are."""
    if photometric in ("YBR_FULL", "YBR_FULL_422"):
        return ybr_to_rgb(array, bits=bits)
    if photometric in ("YBR_PARTIAL_422", "YBR_PARTIAL_420"):
        return ybr_to_rgb(array, partial=True, bits=bits)
    return array


def decoded(ds: dcf.Dataset) -> Array:
    """Every frame decoded by dicomframe, ``(frames, rows, columns[, 3])``, compared form."""
    frames = []
    for frame in ds.pixel_data:
        native = frame.decode()
        info = native.info
        frames.append(as_compared(native.array, info.photometric_interpretation, info.bits_stored))
    return np.stack(frames)


def psnr(expected: Array, actual: Array, bits: int) -> float:
    error = np.mean((expected.astype(np.float64) - actual.astype(np.float64)) ** 2)
    if error == 0:
        return math.inf
    return float(10 * np.log10(((1 << bits) - 1) ** 2 / error))


def assert_close(
    expected: Array, actual: Array, target: TransferSyntax, bits: int, *, noise: bool = False
) -> None:
    """Exact for lossless targets; within the documented tolerance for lossy ones."""
    assert actual.shape == expected.shape
    if not target.is_lossy:
        np.testing.assert_array_equal(actual, expected)
    elif target.keyword in MAX_ERROR:
        diff = np.abs(actual.astype(np.int64) - expected.astype(np.int64))
        assert int(diff.max()) <= MAX_ERROR[target.keyword]
    else:
        floor = NOISE_FLOOR if noise else PSNR_FLOOR[target.keyword]
        assert psnr(expected, actual, bits) >= floor


# -- peer tools ---------------------------------------------------------------------------
def dcmdump_problems(path: Path) -> list[str]:
    """The W:/E: lines dcmdump prints for ``path`` (and its exit status, if not 0)."""
    run = subprocess.run(
        [require_tool("dcmdump"), "-q", str(path)], capture_output=True, check=False
    )
    text = (run.stdout + run.stderr).decode("latin-1")
    problems = [line for line in text.splitlines() if line.startswith(("W:", "E:"))]
    return problems + ([f"exit status {run.returncode}"] if run.returncode else [])


# -- the matrix ----------------------------------------------------------------------------
@dataclass
class Case:
    """One source read and decoded, ready to transcode."""

    ds: dcf.Dataset
    expected: Array | None  # None: dicomframe cannot decode the source
    bits: int

    @property
    def syntax(self) -> TransferSyntax:
        return self.ds.transfer_syntax or ExplicitVRLittleEndian

    @property
    def was_lossy(self) -> bool:
        return self.syntax.is_lossy or str(self.ds.get("LossyImageCompression") or "") == "01"

    def passed_through(self, target: TransferSyntax) -> bool:
        """An encapsulated source to its own syntax: frames are copied, not decoded."""
        return self.syntax.is_encapsulated and self.syntax.uid == target.uid


def _case(path: Path) -> Case:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reader's own warnings are tested elsewhere
        ds = _read(path)
        try:
            expected: Array | None = decoded(ds)
            bits = ds.pixel_data.info.bits_stored
        except dcf.DicomError:
            expected, bits = None, 0
    return Case(ds, expected, bits)


def check_refusal(
    exc: dcf.DicomError, case: Case, info: FrameInfo | None, target: TransferSyntax
) -> None:
    """A refusal is a DicomError naming why; a NoCodecError names every codec asked.

    Only a source with broken pixel attributes may be refused as invalid, and
    only palette indices to a lossy syntax by transcode itself; a codec whose
    output does not decode to its input is a bug, never an answer.
    """
    message = str(exc)
    assert message.strip()
    assert "verification failed" not in message
    if isinstance(exc, dcf.InvalidDicomError):
        assert info is None, message
        return
    if isinstance(exc, dcf.EncodingError):  # the one refusal transcode makes itself
        assert info is not None
        assert info.photometric_interpretation == "PALETTE COLOR"
        assert target.is_lossy
        assert "PALETTE COLOR indices cannot be compressed lossily" in message
        return
    assert isinstance(exc, dcf.NoCodecError), message
    assert exc.attempts, message
    # The source decodes: the target has no encoder for it; else the source has no decoder.
    assert exc.syntax == (target if case.expected is not None else case.syntax)
    for attempt in exc.attempts:
        assert attempt.reason, attempt
        assert attempt.codec in message
        if attempt.outcome == "failed":
            # A codec that takes a frame and then refuses it must say so as a DicomError.
            assert isinstance(attempt.error, dcf.DicomError), attempt


def _values(ds: dcf.Dataset, keyword: str) -> list[str]:
    value = ds.get(keyword)
    if value is None or value == "":
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def check_bookkeeping(case: Case, result: dcf.Dataset, target: TransferSyntax) -> None:
    source = case.ds
    assert result.transfer_syntax == target
    assert result.meta is not None
    assert result.meta["TransferSyntaxUID"].value == target.uid
    if int(result.get("SamplesPerPixel") or 1) > 1:
        assert int(result.PlanarConfiguration) == 0
    passed_through = case.passed_through(target)
    if target.is_lossy and not passed_through:
        assert result.LossyImageCompression == "01"
        assert _values(result, "LossyImageCompressionMethod") == [
            *_values(source, "LossyImageCompressionMethod"),
            LOSSY_METHODS[target.uid],
        ]
        ratios = _values(result, "LossyImageCompressionRatio")
        assert ratios[:-1] == _values(source, "LossyImageCompressionRatio")
        assert float(ratios[-1]) > 0
        assert result.SOPInstanceUID != source.get("SOPInstanceUID")
        assert result.meta["MediaStorageSOPInstanceUID"].value == result.SOPInstanceUID
    else:
        assert result.get("SOPInstanceUID") == source.get("SOPInstanceUID")
    if passed_through:
        assert result.get("LossyImageCompression") == source.get("LossyImageCompression")
    elif case.was_lossy:  # PS3.3 C.7.6.1.1.5: once "01", never reset
        assert result.LossyImageCompression == "01"


def pixel_vr(ds: dcf.Dataset) -> dcf.VR:
    return next(ds[tag].vr for tag in PIXEL_KEYWORDS if tag in ds)


def expected_vr(ds: dcf.Dataset, target: TransferSyntax) -> dcf.VR:
    """PS3.5 A.4 / 8.1.1: OB encapsulated; OB for 8-bit and OW for wider native; OF / OD.

    Implicit VR has no VR to write: Pixel Data reads back as OW (PS3.5 A.1).
    """
    if 0x7FE00008 in ds:
        return dcf.VR.OF
    if 0x7FE00009 in ds:
        return dcf.VR.OD
    if not target.is_explicit_vr:
        return dcf.VR.OW
    if target.is_encapsulated or int(ds.BitsAllocated) <= 8:
        return dcf.VR.OB
    return dcf.VR.OW


@pytest.mark.parametrize(("path", "target"), _matrix())
def test_transcode(path: Path, target: TransferSyntax, tmp_path: Path) -> None:
    case = _case(path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = dcf.transcode(case.ds, target)
    except dcf.DicomError as exc:
        check_refusal(exc, case, SOURCES[path], target)
        return
    passed_through = case.passed_through(target)
    if passed_through:  # not decoded at all: every frame kept byte for byte
        assert [bytes(f.data) for f in result.pixel_data] == [
            bytes(f.data) for f in case.ds.pixel_data
        ]
    if case.expected is None:
        assert passed_through, "transcoded a source that does not decode"
        return
    second = [w for w in caught if issubclass(w.category, dcf.DicomWarning)]
    assert bool(second) == (target.is_lossy and not passed_through and case.was_lossy)
    assert all("already lossy" in str(w.message) for w in second)
    check_bookkeeping(case, result, target)

    written = tmp_path / "out.dcm"
    dcf.write(result, written)
    assert dcmdump_problems(written) == []
    back = dcf.read(written)
    assert pixel_vr(back) == expected_vr(back, target)
    actual = decoded(back)
    if passed_through:
        np.testing.assert_array_equal(actual, case.expected)
    else:
        assert_close(case.expected, actual, target, case.bits, noise=path.stem in NOISE_SOURCES)
    peer = peer_decoded(written, target, tmp_path / "peer.dcm")
    theirs = as_compared(peer.array, peer.photometric, case.bits)
    assert_close(case.expected, theirs, target, case.bits, noise=path.stem in NOISE_SOURCES)


# -- the other direction: peers encode, dicomframe decodes --------------------------------------
PEER_SOURCES = [  # small frames of the layouts peers compress: signed, 12-bit, colour, palette
    "ct_explicit_le.dcm",
    "mr_multiframe_uint16.dcm",
    "rgb_planar1.dcm",
    "CT_small.dcm",
    "SC_rgb_small_odd.dcm",
    "examples_rgb_color.dcm",
    "examples_palette.dcm",
]


def _peer_cases() -> list[Any]:
    paths = {path.name: path for path in [*pydicom_files(), *project_files()]}
    cases = []
    for name in PEER_SOURCES:
        info = _info(paths[name])[1]
        assert info is not None
        cases += [
            pytest.param(paths[name], encoder, id=f"{Path(name).stem}-{encoder.name}")
            for encoder in PEER_ENCODERS
            if encoder.takes(info)
        ]
    return cases


@pytest.mark.parametrize(("path", "encoder"), _peer_cases())
def test_peer_encoded_decodes(path: Path, encoder: PeerEncoder, tmp_path: Path) -> None:
    """dicomframe decodes what DCMTK and GDCM write as they decode it themselves: exactly for
    a lossless stream (and then also to the source), within 1 for a lossy one (colour is
    converted to RGB by the JPEG library on one side and by dicomframe on the other)."""
    written = peer_encoded(encoder, path, tmp_path / "peer.dcm")
    ds = dcf.read(written)
    assert ds.transfer_syntax is not None
    assert ds.transfer_syntax.is_encapsulated
    ours = decoded(ds)
    peer = peer_decompressed(encoder, written, tmp_path / "back.dcm")
    bits = ds.pixel_data.info.bits_stored
    theirs = as_compared(peer.array, peer.photometric, bits)
    assert ours.shape == theirs.shape
    difference = np.abs(ours.astype(np.int64) - theirs.astype(np.int64))
    assert int(difference.max()) <= (1 if encoder.lossy else 0)
    if not encoder.lossy:
        np.testing.assert_array_equal(ours, _case(path).expected)
