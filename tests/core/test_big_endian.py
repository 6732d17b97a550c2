"""Big-endian native pixel data read and written as DCMTK and GDCM do: swapped in the VR's unit.

Explicit VR Big Endian swaps each number of a value in the unit of its VR
(PS3.5 7.3): OW in 16-bit words, OL and OF in 32 bits, OD in 64, OB not at
all, whatever the pixels' own size. A 32-bit pixel in OW is two words, low
word first. Every native layout is made little endian by dicomframe, then:

- converted to big endian by DCMTK (``dcmconv +tb``) and read by dicomframe:
  the pixels must equal the little-endian source's;
- written big endian by dicomframe (``set_pixel_data``, ``write``,
  ``transcode``, ``transcode_file``, an edited frame written back), converted back by DCMTK
  (``dcmconv +te``) and by GDCM (``gdcmconv --raw``, which writes little
  endian; GDCM writes no big endian): the pixels must equal the source's.

DCMTK refuses to convert Pixel Data stored as OL ("wrong class for pixel
data element"), so OL goes through its text form instead: ``dcmdump +L``
prints the values DCMTK reads and ``dump2dcm +tb`` writes them big endian.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.core.element import DataElement
from dicomframe.core.frame_info import PIXEL_KEYWORDS
from dicomframe.core.uids import generate_uid
from tests.reference import TESTDATA, require_tool

Array = np.ndarray[Any, Any]
BIG = "ExplicitVRBigEndian"


@dataclass(frozen=True)
class Layout:
    """One native layout: the pixels' dtype and shape, and how they are stored."""

    dtype: str
    samples: int = 1
    frames: int = 1
    rows: int = 3
    columns: int = 5  # odd: 8-bit frames of odd length, starting mid-word when OW
    vr: str | None = None  # the pixel element's VR, when not the one set_pixel_data picks
    planar: int = 0
    bits_allocated: int | None = None  # 1: one bit per pixel
    bits_stored: int | None = None

    @property
    def id(self) -> str:
        """A readable test id: dtype, VR, bits, samples, planar, frames."""
        bits = self.bits_allocated or np.dtype(self.dtype).itemsize * 8
        parts = [self.dtype, self.vr or "", f"{bits}bit", f"stored{self.bits_stored or bits}"]
        parts += [f"{self.samples}spp", f"planar{self.planar}", f"{self.frames}frames"]
        return "-".join(p for p in parts if p)

    def array(self) -> Array:
        """Values spread over the dtype's range (or Bits Stored's): every byte matters."""
        shape = (self.frames, self.rows, self.columns) + (
            (self.samples,) if self.samples > 1 else ()
        )
        rng = np.random.default_rng(7)
        kind = np.dtype(self.dtype)
        if kind.kind == "f":
            return (rng.standard_normal(shape) * 1e5).astype(kind)
        bits = 1 if self.bits_allocated == 1 else self.bits_stored or kind.itemsize * 8
        signed = kind.kind == "i"
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        return rng.integers(low, high, size=shape, endpoint=True, dtype=kind)

    def info(self) -> dict[str, int]:
        """The FrameInfo overrides ``set_pixel_data`` needs for this layout."""
        info = {"samples_per_pixel": self.samples}
        if self.bits_allocated is not None:
            info["bits_allocated"] = self.bits_allocated
        if self.bits_stored is not None:
            info["bits_stored"] = self.bits_stored
        return info


LAYOUTS = [
    Layout("uint8", bits_allocated=1, frames=3),  # 15-bit frames: each starts mid-byte
    Layout("uint8", bits_allocated=1, frames=3, vr="OW"),
    Layout("uint8"),
    Layout("uint8", frames=3),
    Layout("uint8", vr="OW"),
    Layout("uint8", frames=3, vr="OW"),
    Layout("int8", frames=2, vr="OW"),
    Layout("uint8", samples=3, frames=2),
    Layout("uint8", samples=3, frames=3, vr="OW", planar=1),
    Layout("uint8", samples=3, planar=1),
    Layout("uint16"),
    Layout("int16", frames=3, bits_stored=12),
    Layout("uint16", samples=3, frames=2),
    Layout("uint16", samples=3, frames=2, planar=1),
    Layout("uint32"),
    Layout("int32", frames=3),
    Layout("int32", frames=2, bits_stored=24),
    Layout("uint32", samples=3, frames=2),
    Layout("uint32", samples=3, frames=2, planar=1),
    Layout("float32", frames=3),
    Layout("float64", frames=3),
]
OL_LAYOUTS = [Layout("uint32", vr="OL", frames=3), Layout("int32", vr="OL", samples=3, planar=1)]


# GDCM rewrites a multi-frame, signed or 16/32-bit colour image only under a SOP class that
# allows it (gdcm::ImageHelper::ComputeMediaStorageFromModality); Secondary Capture Image
# Storage does not, RT Dose Storage does. DCMTK does not look at the SOP class.
RT_DOSE = "1.2.840.10008.5.1.4.1.1.481.2"


def base() -> dcf.Dataset:
    ds = dcf.Dataset()
    ds.set("SOPClassUID", RT_DOSE)
    ds.set("SOPInstanceUID", generate_uid())
    return ds


def pixel_element(ds: dcf.Dataset) -> DataElement:
    return next(ds[tag] for tag in PIXEL_KEYWORDS if tag in ds)


def little_endian_source(layout: Layout, path: Path) -> Array:
    """Write ``layout`` as Explicit VR Little Endian to ``path``; return its pixels."""
    array = layout.array()
    ds = base()
    ds.set_pixel_data(array, **layout.info())
    element = pixel_element(ds)
    raw = bytes(element.raw or b"")
    if layout.planar:
        size = np.dtype(layout.dtype).itemsize
        planes = [frame.transpose(2, 0, 1) for frame in array]
        raw = b"".join(p.astype(array.dtype.newbyteorder("<")).tobytes() for p in planes)
        assert len(raw) == layout.frames * layout.rows * layout.columns * layout.samples * size
        ds.set("PlanarConfiguration", 1)
    ds.add(DataElement(element.tag, layout.vr or element.vr, raw=raw))
    dcf.write(ds, path)
    return array


def run(*command: str | Path) -> None:
    done = subprocess.run([str(c) for c in command], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode("latin-1")


def dcmconv(source: Path, option: str, out: Path) -> Path:
    run(require_tool("dcmconv"), option, source, out)
    return out


def gdcm_little_endian(source: Path, out: Path) -> Path:
    """GDCM's Explicit VR Little Endian rewrite of ``source`` (``gdcmconv --raw``)."""
    run(require_tool("gdcmconv"), "--raw", source, out)
    return out


def gdcm_value(source: Path, out: Path) -> Array:
    """The pixels of ``source`` from GDCM's little-endian copy of its pixel value (``gdcmraw``).

    ``gdcmraw`` undoes the big-endian swap in the unit of the VR; the bytes
    are then read as little endian, a path that swaps nothing.
    """
    ds = dcf.read(source)
    element = pixel_element(ds)
    tag = f"{element.tag >> 16:04x},{element.tag & 0xFFFF:04x}"
    run(require_tool("gdcmraw"), "-i", source, "-o", out, "-t", tag)
    ds.add(DataElement(element.tag, element.vr, raw=out.read_bytes(), little_endian=True))
    return np.asarray(ds.pixel_array)


def dcmtk_via_text(source: Path, option: str, out: Path) -> Path:
    """DCMTK's copy of ``source`` through its text form: ``dcmdump +L`` then ``dump2dcm``.

    DCMTK will not convert Pixel Data stored as OL with ``dcmconv``; printed
    as numbers and written again, its values go through DCMTK's reading and
    writing all the same.
    """
    dump = subprocess.run(
        [require_tool("dcmdump"), "+L", str(source)], capture_output=True, check=True
    )
    text = out.with_suffix(".txt")
    text.write_bytes(dump.stdout)
    run(require_tool("dump2dcm"), "+l", "1000000", option, text, out)
    return out


def pixels(path: Path) -> Array:
    """The pixels of a little-endian file as dicomframe reads them, shaped (frames, ...)."""
    ds = dcf.read(path)
    assert ds.transfer_syntax is not None
    assert ds.transfer_syntax.is_little_endian  # never the code under test
    return np.asarray(ds.pixel_array)


def assert_frames_native(ds: dcf.Dataset, expected: Array) -> None:
    """Each frame is one flat array of the exact dtype in native order, equal to its slice."""
    for index, frame in enumerate(ds.pixel_data):
        assert isinstance(frame, dcf.NativeFrame)
        assert frame.data.ndim == 1
        assert frame.data.dtype == frame.info.dtype
        assert frame.data.dtype.isnative
        np.testing.assert_array_equal(frame.array, expected[index])


def assert_big_endian(path: Path) -> dcf.Dataset:
    ds = dcf.read(path)
    assert ds.transfer_syntax is not None
    assert ds.transfer_syntax.keyword == BIG
    return ds


# -- reading what DCMTK writes ------------------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.id)
def test_dcmtk_big_endian_reads_as_its_little_endian_source(layout: Layout, tmp_path: Path) -> None:
    expected = little_endian_source(layout, tmp_path / "le.dcm")
    big = assert_big_endian(dcmconv(tmp_path / "le.dcm", "+tb", tmp_path / "be.dcm"))
    assert pixel_element(big).vr == (layout.vr or pixel_element(dcf.read(tmp_path / "le.dcm")).vr)
    np.testing.assert_array_equal(big.pixel_array, expected)
    assert big.pixel_array.dtype == expected.dtype
    assert_frames_native(big, expected)


@pytest.mark.parametrize("layout", OL_LAYOUTS, ids=lambda layout: layout.id)
def test_dcmtk_big_endian_ol_reads_as_its_little_endian_source(
    layout: Layout, tmp_path: Path
) -> None:
    expected = little_endian_source(layout, tmp_path / "le.dcm")
    big = assert_big_endian(dcmtk_via_text(tmp_path / "le.dcm", "+tb", tmp_path / "be.dcm"))
    assert pixel_element(big).vr == "OL"
    np.testing.assert_array_equal(big.pixel_array, expected)
    assert_frames_native(big, expected)


def test_the_big_endian_sources_differ_from_little_endian_bytes(tmp_path: Path) -> None:
    """Each swap unit is exercised: the converted values are not the little-endian bytes."""
    for layout in (Layout("uint32", vr="OW"), Layout("uint32", vr="OL"), Layout("float64")):
        little_endian_source(layout, tmp_path / "le.dcm")
        if layout.vr == "OL":
            dcmtk_via_text(tmp_path / "le.dcm", "+tb", tmp_path / "be.dcm")
        else:
            dcmconv(tmp_path / "le.dcm", "+tb", tmp_path / "be.dcm")
        little = bytes(pixel_element(dcf.read(tmp_path / "le.dcm")).raw or b"")
        big = bytes(pixel_element(dcf.read(tmp_path / "be.dcm")).raw or b"")
        unit = {"OW": 2, "OL": 4}.get(layout.vr or "", 8)
        words = np.frombuffer(little, f"<u{unit}")
        assert big == words.astype(f">u{unit}").tobytes() != little


# -- writing what DCMTK and GDCM read -----------------------------------------------------------
def by_set_pixel_data(source: Path, out: Path) -> None:
    frames = [frame.decode() for frame in dcf.read(source).pixel_data]
    ds = base()
    ds.set_pixel_data(frames, BIG)
    dcf.write(ds, out)


def by_write(source: Path, out: Path) -> None:
    dcf.write(dcf.read(source), out, transfer_syntax=BIG)


def by_transcode(source: Path, out: Path) -> None:
    dcf.write(dcf.transcode(dcf.read(source), BIG), out)


def by_transcode_file(source: Path, out: Path) -> None:
    dcf.transcode_file(source, out, BIG)


WRITERS: dict[str, Callable[[Path, Path], None]] = {
    "set_pixel_data": by_set_pixel_data,
    "write": by_write,
    "transcode": by_transcode,
    "transcode_file": by_transcode_file,
}


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.id)
def test_written_big_endian_reads_the_same_in_dcmtk_and_gdcm(
    layout: Layout, writer: str, tmp_path: Path
) -> None:
    expected = little_endian_source(layout, tmp_path / "le.dcm")
    big = tmp_path / "be.dcm"
    WRITERS[writer](tmp_path / "le.dcm", big)
    assert_big_endian(big)
    np.testing.assert_array_equal(pixels(dcmconv(big, "+te", tmp_path / "dcmtk.dcm")), expected)
    np.testing.assert_array_equal(gdcm_value(big, tmp_path / "gdcm.raw"), expected)
    if np.dtype(layout.dtype).kind != "f":  # GDCM's image layer has no Float Pixel Data
        converted = gdcm_little_endian(big, tmp_path / "gdcm.dcm")
        np.testing.assert_array_equal(pixels(converted), expected)


@pytest.mark.parametrize("layout", OL_LAYOUTS, ids=lambda layout: layout.id)
def test_written_big_endian_ol_reads_the_same_in_dcmtk_and_gdcm(
    layout: Layout, tmp_path: Path
) -> None:
    expected = little_endian_source(layout, tmp_path / "le.dcm")
    big = tmp_path / "be.dcm"
    by_write(tmp_path / "le.dcm", big)
    assert pixel_element(assert_big_endian(big)).vr == "OL"
    dcmtk = dcmtk_via_text(big, "+te", tmp_path / "dcmtk.dcm")
    np.testing.assert_array_equal(pixels(dcmtk), expected)
    np.testing.assert_array_equal(gdcm_value(big, tmp_path / "gdcm.raw"), expected)
    np.testing.assert_array_equal(pixels(gdcm_little_endian(big, tmp_path / "gdcm.dcm")), expected)


# -- editing frames of big-endian data ------------------------------------------------------------
def new_value(frame: dcf.NativeFrame, x: int, y: int) -> Any:
    """A value Bits Stored allows that differs from the one at (x, y) in every sample."""
    info = frame.info
    old = np.atleast_1d(np.asarray(frame.get_pixel(x, y)))
    if info.dtype.kind == "f":
        new = old + 1234.5
    else:
        bits = info.bits_stored if info.bits_allocated > 1 else 1
        low = -(1 << (bits - 1)) if info.pixel_representation else 0
        new = (old - low + 1) % (1 << bits) + low
    return new.item() if new.size == 1 else tuple(new.tolist())


def edit(ds: dcf.Dataset, expected: Array, index: int, x: int, y: int) -> None:
    """Set (x, y) of frame ``index`` through NativeFrame.set_pixel, and in ``expected``."""
    frame = ds.pixel_data[index]
    assert isinstance(frame, dcf.NativeFrame)
    value = new_value(frame, x, y)
    frame.set_pixel(x, y, value)
    expected[index, y, x] = value


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.id)
def test_edited_big_endian_frames_read_the_same_in_dcmtk(layout: Layout, tmp_path: Path) -> None:
    expected = little_endian_source(layout, tmp_path / "le.dcm").copy()
    source = dcmconv(tmp_path / "le.dcm", "+tb", tmp_path / "be.dcm")
    ds = dcf.read(source)
    edit(ds, expected, layout.frames - 1, 1, 2)
    if layout.frames > 1:
        edit(ds, expected, 0, 4, 0)
    np.testing.assert_array_equal(ds.pixel_array, expected)
    dcf.write(ds, tmp_path / "edited.dcm")  # big endian still, the edits in place
    edited = dcf.read(tmp_path / "edited.dcm")
    np.testing.assert_array_equal(edited.pixel_array, expected)
    dcmtk = dcmconv(tmp_path / "edited.dcm", "+te", tmp_path / "dcmtk.dcm")
    np.testing.assert_array_equal(pixels(dcmtk), expected)
    np.testing.assert_array_equal(gdcm_value(tmp_path / "edited.dcm", tmp_path / "g.raw"), expected)
    before = bytes(pixel_element(dcf.read(source)).raw or b"")
    after = bytes(pixel_element(edited).raw or b"")
    changed = sum(a != b for a, b in zip(before, after, strict=True))
    per_pixel = np.dtype(layout.dtype).itemsize * layout.samples
    assert 0 < changed <= per_pixel * min(layout.frames, 2)
    dcf.write(ds, tmp_path / "little.dcm", transfer_syntax="ExplicitVRLittleEndian")
    np.testing.assert_array_equal(pixels(tmp_path / "little.dcm"), expected)


# -- what stays cheap ---------------------------------------------------------------------------
def test_big_endian_ob_frames_stay_views_and_swapped_frames_are_private(tmp_path: Path) -> None:
    little_endian_source(Layout("uint8", frames=3), tmp_path / "le8.dcm")
    with dcf.read(dcmconv(tmp_path / "le8.dcm", "+tb", tmp_path / "be8.dcm")) as ds:
        frame = ds.pixel_data[1]
        assert isinstance(frame, dcf.NativeFrame)
        assert not frame.data.flags.writeable  # OB is not swapped: a view on the file
        assert not frame.data.flags.owndata
    little_endian_source(Layout("uint32"), tmp_path / "le32.dcm")
    with dcf.read(dcmconv(tmp_path / "le32.dcm", "+tb", tmp_path / "be32.dcm")) as ds:
        frame = ds.pixel_data[0]
        assert isinstance(frame, dcf.NativeFrame)
        assert frame.data.flags.writeable  # swapped: a private copy
        frame.data[0] ^= 1
        assert ds.pixel_data.element.raw == dcf.read(tmp_path / "be32.dcm").pixel_data.element.raw


def test_a_partial_last_unit_is_kept_as_dcmtk_keeps_it(tmp_path: Path) -> None:
    """A value whose length is not a multiple of its VR's unit: whole units swapped, rest kept."""
    ds = base()
    ds.set_pixel_data(np.array([[1.5, -2.25]], dtype=np.float32))
    ds.add(DataElement(0x7FE00008, "OF", raw=bytes(range(1, 11))))  # two floats and two bytes
    dcf.write(ds, tmp_path / "le.dcm")
    dcmtk = dcmconv(tmp_path / "le.dcm", "+tb", tmp_path / "dcmtk.dcm")
    dcf.write(dcf.read(tmp_path / "le.dcm"), tmp_path / "ours.dcm", transfer_syntax=BIG)
    ours = pixel_element(dcf.read(tmp_path / "ours.dcm")).raw
    assert ours == pixel_element(dcf.read(dcmtk)).raw == bytes.fromhex("0403020108070605090a")
    back = dcf.read(dcmtk).pixel_data[0]
    assert isinstance(back, dcf.NativeFrame)
    np.testing.assert_array_equal(back.data, np.frombuffer(bytes(range(1, 9)), "<f4"))


@pytest.mark.parametrize(("dtype", "vr"), [("uint32", "OW"), ("int16", "OW"), ("float32", "OF")])
def test_an_array_assigned_to_the_value_is_written_in_the_unit_of_the_vr(
    tmp_path: Path, dtype: str, vr: str
) -> None:
    """``ds.PixelData = array`` (no set_pixel_data) stores words in big endian, as DCMTK does."""
    rng = np.random.default_rng(7)
    array = rng.integers(0, 2**15, (3, 4), dtype=np.int64).astype(dtype)
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    bits = array.dtype.itemsize * 8
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 3, 4, bits, bits, bits - 1
    ds.PixelRepresentation = int(array.dtype.kind == "i")
    del ds["PixelData"]
    tag = 0x7FE00008 if vr == "OF" else 0x7FE00010
    ds.add(DataElement(tag, vr, array))
    if vr == "OF":
        for keyword in ("BitsStored", "HighBit", "PixelRepresentation"):
            del ds[keyword]
    big = tmp_path / "big.dcm"
    dcf.write(ds, big, transfer_syntax="ExplicitVRBigEndian")
    np.testing.assert_array_equal(dcf.read(big).pixel_array[0], array)
    np.testing.assert_array_equal(pixels(dcmconv(big, "+te", tmp_path / "le.dcm"))[0], array)
