#!/usr/bin/env python3
r"""Regenerate dicomframe's bundled DICOM test files with peer toolkits (DCMTK and GDCM).

Nothing here is written by dicomframe itself: every file is made by DCMTK's ``dump2dcm`` from a
dump text that this script writes (pixel data come from raw files through dump2dcm's
``=filename`` syntax), then, where another encoding is wanted, converted by ``dcmconv``,
``dcmcrle``, ``dcmcjpeg`` or ``gdcmconv``. Only two files get a documented byte-level edit after
the tools ran (``odd_length_value.dcm`` and ``truncated.dcm``). Everything is deterministic: fixed
UIDs (``2.25.`` UUID-derived UIDs from fixed names), fixed dates and times, and pixel patterns
drawn by numpy from fixed seeds. Dumps and raw pixel files live in a temporary directory only.

Files (tool that makes each in brackets):

* ``ct_explicit_le.dcm`` [dump2dcm +te]: CT Image Storage, 64x64 int16 (Bits Allocated/Stored 16,
  Pixel Representation 1), rescale, two windows, PN ``Doe^Jane^M^Dr^PhD``, DA/TM/DT, DS/IS
  multi-values; Explicit VR Little Endian.
* ``ct_implicit_le.dcm`` [dcmconv +ti], ``ct_explicit_be.dcm`` [dcmconv +tb],
  ``ct_deflated.dcm`` [dcmconv +td]: the same data set in the other three native syntaxes.
* ``mr_multiframe_uint16.dcm`` [dump2dcm]: 5 frames of 32x48 uint16, Bits Stored 12.
* ``rgb_planar0.dcm`` / ``rgb_planar1.dcm`` [dump2dcm]: 20x30 RGB 8-bit, Planar Configuration 0/1.
* ``sequences_defined.dcm`` [dump2dcm +e] / ``sequences_undefined.dcm`` [dump2dcm -e]: sequences
  nested three deep, an empty sequence, an empty item, private creator ``DICOMFRAME TEST`` with
  LO/US/OB values and a private sequence; every length defined / every length undefined.
* ``sequences.dcm`` [dump2dcm +ti, then gdcmconv -X]: the same content with mixed length encoding
  (non-empty sequences undefined, items defined, the empty sequence defined) as GDCM writes it
  when it converts Implicit to Explicit VR; the private sequence becomes UN (CP-246).
* ``all_vrs.dcm`` [dump2dcm]: one element of each of the 34 VRs DCMTK 3.6.7 writes.
* ``charset_utf8.dcm``, ``charset_latin1.dcm``, ``charset_jis.dcm`` [dump2dcm]: ISO_IR 192,
  ISO_IR 100 and ``\ISO 2022 IR 87`` (PS3.5 H.3.1 example name) person names and text.
* ``float_pixels.dcm`` / ``double_pixels.dcm`` [dump2dcm]: Float (7FE0,0008) and Double Float
  (7FE0,0009) Pixel Data, 16x16, Parametric Map attributes.
* ``bits1_3frames.dcm`` [dump2dcm]: Bits Allocated 1, 3 frames of 5 rows x 7 columns.
* ``rle_multiframe.dcm`` [dcmcrle], ``jpeg_lossless.dcm`` [dcmcjpeg +e1],
  ``j2k_lossless.dcm`` [gdcmconv --j2k]: encapsulated pixel data.
* ``no_meta_implicit.dcm`` [dcmconv -F +ti]: bare Implicit VR LE data set, no preamble, no meta.
* ``odd_length_value.dcm`` [dump2dcm, then a byte edit]: PatientID stored with length 7.
* ``truncated.dcm`` [a copy of the first 600 bytes of ct_explicit_le.dcm].

Usage: ``python testdata/make_testdata.py`` regenerates the files and ``README.md`` next to this
script; ``--check`` verifies the files in place (dcmdump diagnostics, pydicom reads them, pixel
data equal the numpy patterns); ``--out DIR`` writes elsewhere (e.g. to compare two runs).
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import struct
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from pydicom import Dataset

HERE = Path(__file__).resolve().parent
UID_NAMESPACE = uuid.UUID("5d1c0a53-6f1e-4a52-9a3c-0d1c0f4a7e11")
TRUNCATE_AT = 600

# A dump element: (tag "gggg,eeee", VR, value). The value is either dump text (already in
# dump2dcm syntax) or, for SQ, a list of items, each item a list of elements.
Element: TypeAlias = "tuple[str, str, str | list[list[Element]]]"


@dataclass(frozen=True)
class TestFile:
    """One generated file and what the README says about it."""

    name: str
    covers: str
    syntax: str
    tool: str
    diagnostics: str = ""


FILES: tuple[TestFile, ...] = (
    TestFile(
        "ct_explicit_le.dcm",
        "CT Image Storage, 64x64 int16 (BA 16, BS 16, HB 15, PR 1) incl. -32768 and 32767; "
        "Rescale Slope 1.25 / Intercept -1024; Window Center/Width 40\\400 and 400\\1500; "
        "PN `Doe^Jane^M^Dr^PhD`; DA, TM, DT; DS multi-values (ImagePositionPatient, "
        "ImageOrientationPatient, PixelSpacing, WindowCenter); IS and CS multi-values",
        "Explicit VR Little Endian",
        "`dump2dcm +te`",
    ),
    TestFile(
        "ct_implicit_le.dcm",
        "same data set as ct_explicit_le.dcm",
        "Implicit VR Little Endian",
        "`dcmconv +ti`",
    ),
    TestFile(
        "ct_explicit_be.dcm",
        "same data set as ct_explicit_le.dcm (pixel words byte-swapped)",
        "Explicit VR Big Endian (retired)",
        "`dcmconv +tb`",
    ),
    TestFile(
        "ct_deflated.dcm",
        "same data set as ct_explicit_le.dcm, deflated after the meta group",
        "Deflated Explicit VR Little Endian",
        "`dcmconv +td`",
    ),
    TestFile(
        "mr_multiframe_uint16.dcm",
        "Multi-frame Grayscale Word SC (Modality MR), 5 frames x 32 rows x 48 columns, uint16, "
        "BA 16, BS 12, HB 11, PR 0; NumberOfFrames, FrameIncrementPointer (AT)",
        "Explicit VR Little Endian",
        "`dump2dcm +te`",
    ),
    TestFile(
        "rgb_planar0.dcm",
        "Secondary Capture RGB, 20 rows x 30 columns, 3 x 8 bit, Planar Configuration 0 "
        "(R1G1B1R2G2B2...)",
        "Explicit VR Little Endian",
        "`dump2dcm +te`",
    ),
    TestFile(
        "rgb_planar1.dcm",
        "same image as rgb_planar0.dcm with Planar Configuration 1 (all R, all G, all B)",
        "Explicit VR Little Endian",
        "`dump2dcm +te`",
    ),
    TestFile(
        "sequences_defined.dcm",
        "sequences nested 3 deep, an empty sequence, an empty item, an empty sequence inside an "
        "item, private creator (0009,0010) `DICOMFRAME TEST` with LO/US/OB values and a private "
        "SQ (0009,1010) whose items hold their own private creator; every sequence and item "
        "has a defined length",
        "Explicit VR Little Endian",
        "`dump2dcm +te +e`",
    ),
    TestFile(
        "sequences_undefined.dcm",
        "same content as sequences_defined.dcm; every sequence and item has undefined length "
        "(delimitation items)",
        "Explicit VR Little Endian",
        "`dump2dcm +te -e`",
    ),
    TestFile(
        "sequences.dcm",
        "same content, mixed length encoding as GDCM writes it: non-empty sequences undefined "
        "length, all items defined length, the empty sequences defined length 0; GDCM has no "
        "dictionary for the private creator, so the private elements become UN and the private "
        "sequence (0009,1010) a UN of defined length holding Implicit VR LE items (CP-246)",
        "Explicit VR Little Endian",
        "`dump2dcm +ti +e`, then `gdcmconv -X`",
    ),
    TestFile(
        "all_vrs.dcm",
        "one element of each of the 34 VRs DCMTK 3.6.7 writes (AE AS AT CS DA DS DT FL FD IS "
        "LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV), all public "
        "tags, multi-valued where the VM allows, limits such as -32768, 65535, 2^32-1, "
        "-2^63, 2^64-1",
        "Explicit VR Little Endian",
        "`dump2dcm +te`",
    ),
    TestFile(
        "charset_utf8.dcm",
        "Specific Character Set `ISO_IR 192`: Japanese, Chinese and Greek person names (with "
        "ideographic/phonetic groups) and Greek/Chinese text",
        "Explicit VR Little Endian",
        "`dump2dcm +te`",
    ),
    TestFile(
        "charset_latin1.dcm",
        "Specific Character Set `ISO_IR 100`: PN `Müller^Jürgen` and Latin-1 text",
        "Explicit VR Little Endian",
        "`dump2dcm +te`",
    ),
    TestFile(
        "charset_jis.dcm",
        "Specific Character Set `\\ISO 2022 IR 87`: PN `Yamada^Tarou=山田^太郎=やまだ^たろう` "
        "with ISO 2022 escape sequences, byte-identical to PS3.5 H.3.1",
        "Explicit VR Little Endian",
        "`dump2dcm +te`",
    ),
    TestFile(
        "float_pixels.dcm",
        "Parametric Map attributes, Float Pixel Data (7FE0,0008) OF, 16x16 float32, BA 32",
        "Explicit VR Little Endian",
        "`dump2dcm +te`",
    ),
    TestFile(
        "double_pixels.dcm",
        "Parametric Map attributes, Double Float Pixel Data (7FE0,0009) OD, 16x16 float64 "
        "(values not representable in float32), BA 64",
        "Explicit VR Little Endian",
        "`dump2dcm +te`",
    ),
    TestFile(
        "bits1_3frames.dcm",
        "Multi-frame Single Bit SC, BA 1, BS 1, MONOCHROME2, 3 frames of 5 rows x 7 columns: "
        "35 bits a frame, so frames 2 and 3 start mid-byte (bit 35 and bit 70)",
        "Explicit VR Little Endian",
        "`dump2dcm +te`",
    ),
    TestFile(
        "rle_multiframe.dcm",
        "mr_multiframe_uint16.dcm RLE-compressed: one fragment per frame, Basic Offset Table "
        "with 5 entries",
        "RLE Lossless",
        "`dcmcrle`",
    ),
    TestFile(
        "jpeg_lossless.dcm",
        "ct_explicit_le.dcm JPEG-compressed (Process 14, selection value 1), Basic Offset Table "
        "with 1 entry",
        "JPEG Lossless, Non-Hierarchical, First-Order Prediction (1.2.840.10008.1.2.4.70)",
        "`dcmcjpeg +e1`",
    ),
    TestFile(
        "j2k_lossless.dcm",
        "ct_explicit_le.dcm JPEG 2000 reversible; GDCM leaves the Basic Offset Table empty",
        "JPEG 2000 Image Compression (Lossless Only) (1.2.840.10008.1.2.4.90)",
        "`gdcmconv --j2k`",
    ),
    TestFile(
        "no_meta_implicit.dcm",
        "ct_explicit_le.dcm's data set alone: no preamble, no `DICM`, no group 0002",
        "Implicit VR Little Endian (to be guessed)",
        "`dcmconv -F +ti`",
    ),
    TestFile(
        "odd_length_value.dcm",
        "small 8-bit image whose PatientID (0010,0020) LO `ODD1234` is stored with odd value "
        "length 7 and no padding byte, so every later element (pixel data included) starts at "
        "an odd offset; the file length is odd",
        "Explicit VR Little Endian",
        "`dump2dcm +te`, then a byte edit by make_testdata.py",
        "W: DcmItem: Length of element (0010,0020) is odd",
    ),
    TestFile(
        "truncated.dcm",
        f"the first {TRUNCATE_AT} bytes of ct_explicit_le.dcm: {{cut}}",
        "Explicit VR Little Endian",
        "a copy of the first bytes by make_testdata.py",
        "E: ... premature end of stream",
    ),
)


# --------------------------------------------------------------------------- deterministic data


def uid(name: str) -> str:
    """Return a fixed ``2.25.`` UID for ``name`` (UUID version 5 of a fixed namespace)."""
    return f"2.25.{uuid.uuid5(UID_NAMESPACE, 'dicomframe/testdata/' + name).int}"


def ct_pixels() -> npt.NDArray[np.int16]:
    """Return the 64x64 int16 CT pattern: ramp, disk, noise and the int16 extremes."""
    rng = np.random.default_rng(1001)
    y, x = np.mgrid[0:64, 0:64]
    image = x * 40 + y * 7 - 1024 + ((x - 30) ** 2 + (y - 24) ** 2 < 15**2) * 1200
    image = image + rng.integers(-50, 51, size=(64, 64))
    image[0, 0], image[0, 1], image[63, 62], image[63, 63] = -32768, 32767, 0, -1
    result: npt.NDArray[np.int16] = image.astype(np.int16)
    return result


def mr_pixels() -> npt.NDArray[np.uint16]:
    """Return 5 frames of 32x48 uint16 with values within 12 bits; pixel [k, 0, 0] is k."""
    rng = np.random.default_rng(1002)
    k, y, x = np.mgrid[0:5, 0:32, 0:48]
    frames = (x * 85 + y * 3 + k * 700 + rng.integers(0, 16, size=(5, 32, 48))) % 4096
    frames[:, 0, 0] = np.arange(5)
    frames[:, 31, 47] = 4095
    result: npt.NDArray[np.uint16] = frames.astype(np.uint16)
    return result


def rgb_pixels() -> npt.NDArray[np.uint8]:
    """Return a 20x30x3 uint8 RGB image (rows, columns, samples)."""
    rng = np.random.default_rng(1003)
    y, x = np.mgrid[0:20, 0:30]
    red = x * 8
    green = 255 - y * 12
    blue = rng.integers(0, 256, size=(20, 30))
    return np.stack([red, green, blue], axis=-1).astype(np.uint8)


def bits1_pixels() -> npt.NDArray[np.uint8]:
    """Return 3 frames of 5x7 zeros and ones; each frame's first pixel differs from the last."""
    rng = np.random.default_rng(1004)
    frames = rng.integers(0, 2, size=(3, 5, 7))
    frames[:, 0, 0] = [1, 0, 1]
    frames[:, 4, 6] = [0, 1, 0]
    return frames.astype(np.uint8)


def float_pixels() -> npt.NDArray[np.float32]:
    """Return 16x16 float32 values k/256 (exact in decimal and in binary)."""
    rng = np.random.default_rng(1005)
    return (rng.integers(-(2**20), 2**20, size=(16, 16)) / 256).astype(np.float32)


def double_pixels() -> npt.NDArray[np.float64]:
    """Return 16x16 float64 values k/8 with 33-bit k: exact in decimal, not in float32.

    DCMTK parses decimal text itself and is not correctly rounded for arbitrary doubles, so
    the values are chosen to need at most 13 significant digits.
    """
    rng = np.random.default_rng(1006)
    return rng.integers(-(2**32), 2**32, size=(16, 16)) / 8


def odd_pixels() -> npt.NDArray[np.uint8]:
    """Return the 4x6 uint8 image of odd_length_value.dcm."""
    return (np.arange(24, dtype=np.uint8) * 10).reshape(4, 6)


# ------------------------------------------------------------------------------- dump writing


def s(*values: str) -> str:
    """Return dump text for string values (bracketed, backslash-separated)."""
    return "[" + "\\".join(values) + "]"


def n(*values: float) -> str:
    """Return dump text for binary numbers (US, SS, UL, SL, UV, SV, FL, FD, OF, OD, OL, OV)."""
    return "\\".join(repr(value) for value in values)


def hex_bytes(data: bytes) -> str:
    """Return dump text for OB or UN bytes."""
    return "\\".join(f"{byte:02x}" for byte in data)


def render(elements: Sequence[Element], depth: int = 0) -> list[str]:
    """Return dcmdump-style lines for ``elements``, sequences and items included."""
    pad = "  " * depth
    lines: list[str] = []
    for tag, vr, value in elements:
        if isinstance(value, str):
            lines.append(f"{pad}({tag}) {vr} {value}")
            continue
        lines.append(f"{pad}({tag}) {vr} (Sequence #={len(value)})")
        for item in value:
            lines.append(f"{pad}  (fffe,e000) na (Item #={len(item)})")
            lines.extend(render(item, depth + 2))
            lines.append(f"{pad}  (fffe,e00d) na (ItemDelimitationItem)")
        lines.append(f"{pad}(fffe,e0dd) na (SequenceDelimitationItem)")
    return lines


def run(command: Sequence[str | Path]) -> str:
    """Run a tool; fail on a non-zero exit or on any DCMTK warning/error line."""
    done = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, check=False
    )
    noise = [line for line in done.stderr.splitlines() if line.startswith(("W:", "E:", "F:"))]
    if done.returncode != 0 or noise:
        message = f"{' '.join(map(str, command))} failed ({done.returncode}):\n{done.stderr}"
        raise RuntimeError(message)
    return done.stdout


def dump2dcm(
    work: Path, elements: Sequence[Element], out: Path, options: Sequence[str] = ("+te",)
) -> None:
    """Write ``elements`` as a dump file in ``work`` and turn it into ``out`` with dump2dcm.

    The dump text is written as UTF-8 except for bytes that a character set needs verbatim;
    those values are given as ``str`` that round-trip through ``surrogateescape``.
    """
    dump = work / (out.stem + ".dump")
    dump.write_bytes(("\n".join(render(elements)) + "\n").encode("utf-8", "surrogateescape"))
    run(["dump2dcm", "+l", "1000000", *options, dump, out])


def raw(work: Path, name: str, data: npt.NDArray[Any]) -> str:
    """Write little-endian ``data`` to ``work/name`` and return dump2dcm's ``=file`` value."""
    path = work / name
    path.write_bytes(np.ascontiguousarray(data).tobytes())
    return f"={path}"


def in_bytes(text: str, encoding: str) -> str:
    """Return ``text`` encoded in ``encoding`` as a surrogate-escaped str for the dump file."""
    return text.encode(encoding).decode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------------- data set content


def common(name: str, sop_class: str, modality: str) -> list[Element]:
    """Return the patient/study/series/instance elements every file shares."""
    return [
        ("0008,0016", "UI", sop_class),
        ("0008,0018", "UI", s(uid(name + "/instance"))),
        ("0008,0020", "DA", s("20240102")),
        ("0008,0030", "TM", s("093015")),
        ("0008,0050", "SH", s("ACC0001")),
        ("0008,0060", "CS", s(modality)),
        ("0008,0070", "LO", s("dicomframe testdata")),
        ("0010,0020", "LO", s("PID-0001")),
        ("0020,000d", "UI", s(uid("study"))),
        ("0020,000e", "UI", s(uid(name + "/series"))),
        ("0020,0010", "SH", s("STUDY1")),
        ("0020,0011", "IS", s("3")),
        ("0020,0013", "IS", s("7")),
    ]


def monochrome(rows: int, columns: int, bits: tuple[int, int, int], signed: bool) -> list[Element]:
    """Return the Image Pixel elements of a one-sample image; ``bits`` is (BA, BS, HB)."""
    return [
        ("0028,0002", "US", n(1)),
        ("0028,0004", "CS", s("MONOCHROME2")),
        ("0028,0010", "US", n(rows)),
        ("0028,0011", "US", n(columns)),
        ("0028,0100", "US", n(bits[0])),
        ("0028,0101", "US", n(bits[1])),
        ("0028,0102", "US", n(bits[2])),
        ("0028,0103", "US", n(int(signed))),
    ]


def ct_elements(work: Path) -> list[Element]:
    """Return the CT data set of ct_explicit_le.dcm."""
    return [
        *common("ct", "=CTImageStorage", "CT"),
        ("0008,0008", "CS", s("ORIGINAL", "PRIMARY", "AXIAL")),
        ("0008,0012", "DA", s("20240102")),
        ("0008,0013", "TM", s("101112.123456")),
        ("0008,0021", "DA", s("20240102")),
        ("0008,0022", "DA", s("20240102")),
        ("0008,0023", "DA", s("20240102")),
        ("0008,002a", "DT", s("20240102093512.345678+0100")),
        ("0008,0031", "TM", s("093500.5")),
        ("0008,0032", "TM", s("0935")),
        ("0008,0033", "TM", s("093512.345678")),
        ("0008,0090", "PN", s("Smith^John")),
        ("0008,1030", "LO", s("CT HEAD W/O CONTRAST")),
        ("0008,103e", "LO", s("AXIAL 2.5mm")),
        ("0008,1160", "IS", s("1", "-2", "+3", " 4")),
        ("0010,0010", "PN", s("Doe^Jane^M^Dr^PhD")),
        ("0010,0030", "DA", s("19800229")),
        ("0010,0040", "CS", s("F")),
        ("0010,1010", "AS", s("044Y")),
        ("0010,1030", "DS", s("61.5")),
        ("0018,0050", "DS", s("2.5")),
        ("0018,0060", "DS", s("120")),
        ("0018,1150", "IS", s("1000")),
        ("0018,1151", "IS", s("250")),
        ("0018,1210", "SH", s("STANDARD", "BONE")),
        ("0020,0032", "DS", s("-125.5", "-130.25", "42")),
        ("0020,0037", "DS", s("1", "0", "0", "0", "0.99984769", "-0.017452406")),
        ("0020,0052", "UI", s(uid("frame-of-reference"))),
        ("0020,1041", "DS", s("42.0")),
        *monochrome(64, 64, (16, 16, 15), signed=True),
        ("0028,0030", "DS", s("0.78125", "0.8")),
        ("0028,1050", "DS", s("40", "400")),
        ("0028,1051", "DS", s("400", "1500")),
        ("0028,1052", "DS", s("-1024")),
        ("0028,1053", "DS", s("1.25")),
        ("0028,1054", "LO", s("HU")),
        ("0028,1055", "LO", s("SOFT", "BONE")),
        ("7fe0,0010", "OW", raw(work, "ct.raw", ct_pixels().astype("<i2"))),
    ]


def mr_elements(work: Path) -> list[Element]:
    """Return the multi-frame data set of mr_multiframe_uint16.dcm."""
    return [
        *common("mr", s("1.2.840.10008.5.1.4.1.1.7.3"), "MR"),
        ("0008,0064", "CS", s("WSD")),
        ("0018,1063", "DS", s("40")),
        ("0028,0008", "IS", s("5")),
        ("0028,0009", "AT", "(0018,1063)"),
        *monochrome(32, 48, (16, 12, 11), signed=False),
        ("7fe0,0010", "OW", raw(work, "mr.raw", mr_pixels().astype("<u2"))),
    ]


def rgb_elements(work: Path, planar: int) -> list[Element]:
    """Return the RGB data set with Planar Configuration ``planar``."""
    pixels = rgb_pixels()
    data = pixels.transpose(2, 0, 1) if planar else pixels
    return [
        *common(f"rgb{planar}", "=SecondaryCaptureImageStorage", "OT"),
        ("0008,0064", "CS", s("WSD")),
        ("0028,0002", "US", n(3)),
        ("0028,0004", "CS", s("RGB")),
        ("0028,0006", "US", n(planar)),
        ("0028,0010", "US", n(20)),
        ("0028,0011", "US", n(30)),
        ("0028,0100", "US", n(8)),
        ("0028,0101", "US", n(8)),
        ("0028,0102", "US", n(7)),
        ("0028,0103", "US", n(0)),
        ("7fe0,0010", "OB", raw(work, f"rgb{planar}.raw", data)),
    ]


def code_item(value: str, scheme: str, meaning: str) -> list[Element]:
    """Return a code sequence item."""
    return [
        ("0008,0100", "SH", s(value)),
        ("0008,0102", "SH", s(scheme)),
        ("0008,0104", "LO", s(meaning)),
    ]


def sequence_elements() -> list[Element]:
    """Return the sequence test data set (three levels, empty ones, private ones)."""
    image_a: list[Element] = [
        ("0008,1150", "UI", "=CTImageStorage"),
        ("0008,1155", "UI", s(uid("seq/image-a"))),
        ("0008,1160", "IS", s("1", "3", "5")),
        ("0040,a170", "SQ", [code_item("121311", "DCM", "Localizer")]),
    ]
    image_b: list[Element] = [
        ("0008,1150", "UI", "=CTImageStorage"),
        ("0008,1155", "UI", s(uid("seq/image-b"))),
        ("0040,a170", "SQ", []),
    ]
    private_items: list[list[Element]] = [
        [
            ("0008,0100", "SH", s("CODE1")),
            ("0009,0010", "LO", s("DICOMFRAME TEST")),
            ("0009,1001", "LO", s("inside private item")),
            ("0009,1002", "US", n(7)),
        ],
        [("0008,0100", "SH", s("CODE2"))],
    ]
    return [
        *common("sequences", "=RawDataStorage", "OT"),
        ("0008,1032", "SQ", []),
        (
            "0008,1115",
            "SQ",
            [
                [
                    ("0020,000e", "UI", s(uid("seq/series"))),
                    ("0008,1140", "SQ", [image_a, image_b]),
                ],
                [],
            ],
        ),
        ("0009,0010", "LO", s("DICOMFRAME TEST")),
        ("0009,1001", "LO", s("private LO value")),
        ("0009,1002", "US", n(1, 2, 65535)),
        ("0009,1003", "OB", hex_bytes(bytes([0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF]))),
        ("0009,1010", "SQ", private_items),
        ("0010,0010", "PN", s("Sequence^Sam")),
    ]


# DCMTK parses decimal text with its own routine, which is not correctly rounded for every
# double (1e308, 1.5e200 and 5e-324 come out wrong), so these values were checked to survive it.
FL_VALUES = (1.5, -0.25, 3.0e38, -0.0)
FD_VALUES = (1.0e100, -2.5, 0.1, 9.5367431640625e-07)


def all_vr_elements() -> list[Element]:
    """Return one element of each VR that DCMTK 3.6.7 writes, sorted by VR."""
    return [
        *common("all-vrs", "=RawDataStorage", "OT"),
        ("0008,0054", "AE", s("STORESCP", "ARCHIVE_2")),  # AE RetrieveAETitle 1-n
        ("0072,005f", "AS", s("044Y", "003M", "012W", "007D")),  # AS SelectorASValue 1-n
        ("0028,0009", "AT", "(0018,1063)\\(0018,1065)"),  # AT FrameIncrementPointer 1-n
        ("0008,0008", "CS", s("DERIVED", "SECONDARY", "OTHER")),  # CS ImageType 2-n
        ("0018,1200", "DA", s("20231231", "19000101")),  # DA DateOfLastCalibration 1-n
        ("0008,2130", "DS", s("1.5", "-2.25e3", "0", "+7")),  # DS EventElapsedTimes 1-n
        ("0040,a13a", "DT", s("20240102093512.345678+0100", "2024")),  # DT 1-n
        ("0018,605a", "FL", n(*FL_VALUES)),  # FL TableOfParameterValues 1-n
        ("0018,6054", "FD", n(*FD_VALUES)),  # FD TableOfYBreakPoints 1-n
        ("0008,1160", "IS", s("1", "-2147483648", "2147483647")),  # IS 1-n
        ("0010,2000", "LO", s("Penicillin", "Latex")),  # LO MedicalAlerts 1-n
        ("0010,4000", "LT", s("LT keeps \\ backslashes: no multi-values")),  # LT 1
        ("0042,0011", "OB", hex_bytes(bytes([0x25, 0x50, 0x44, 0x46, 0x00, 0xFF]))),  # OB
        ("0066,0022", "OD", n(1.5, -2.25, 1.0e100)),  # OD DoublePointCoordinatesData
        ("0064,0009", "OF", n(0.5, -1.25, 3.0e10)),  # OF VectorGridData
        ("0066,0040", "OL", n(0, 1, 4294967295)),  # OL LongPrimitivePointIndexList
        ("0072,0081", "OV", n(1, 18446744073709551615)),  # OV SelectorOVValue
        ("0028,1201", "OW", "0001\\ffff\\8000\\1234"),  # OW RedPaletteColorLUTData
        ("0008,1050", "PN", s("Doe^Jane^M^Dr^PhD", "Smith^John")),  # PN 1-n
        ("0018,1210", "SH", s("STANDARD", "BONE")),  # SH ConvolutionKernel 1-n
        ("0040,a162", "SL", n(-2147483648, 2147483647)),  # SL RationalNumeratorValue 1-n
        (
            "0008,1140",
            "SQ",
            [[("0008,1150", "UI", "=CTImageStorage"), ("0008,1155", "UI", s(uid("all-vrs/ref")))]],
        ),
        ("0018,9442", "SS", n(-32768, 32767, -1, 0)),  # SS 2-n
        ("0008,0081", "ST", s("1 Main Street, Springfield")),  # ST InstitutionAddress 1
        ("0072,0082", "SV", n(-9223372036854775808, 9223372036854775807)),  # SV 1-n
        ("0018,1201", "TM", s("235959.999999", "00")),  # TM TimeOfLastCalibration 1-n
        ("0018,9908", "UC", s("reason one", "reason two")),  # UC 1-n
        ("0008,001a", "UI", s("1.2.840.10008.5.1.4.1.1.7", uid("all-vrs/x"))),  # UI 1-n
        ("0008,1161", "UL", n(0, 4294967295)),  # UL SimpleFrameList 1-n
        ("0072,006d", "UN", hex_bytes(b"\x01\x02\x03\x04")),  # UN SelectorUNValue
        ("0008,010e", "UR", s("http://dicom.nema.org/resources/ontology/DCM")),  # UR 1
        ("0018,1310", "US", n(0, 64, 65535, 0)),  # US AcquisitionMatrix 4
        ("0040,a160", "UT", s("UT text value")),  # UT TextValue 1
        ("0072,0083", "UV", n(0, 18446744073709551615)),  # UV SelectorUVValue 1-n
    ]


UTF8_NAMES = {
    "0010,0010": "Yamada^Tarou=山田^太郎=やまだ^たろう",
    "0008,0090": "Wang^XiaoDong=王^小东=",
    "0008,1050": "Papadopoulos^Dimitrios=Παπαδόπουλος^Δημήτριος",
}
UTF8_TEXT = {
    "0008,1030": "Αξονική τομογραφία εγκεφάλου",
    "0008,103e": "头部 CT 平扫",
}
LATIN1_TEXT = {
    "0010,0010": ("PN", "Müller^Jürgen"),
    "0008,0080": ("LO", "Clinique Saint-Étienne"),
    "0008,1030": ("LO", "Röntgen Thorax, Größe ½ (§ 3)"),
}
JIS_NAME = "Yamada^Tarou=山田^太郎=やまだ^たろう"
# The value bytes of PS3.5 H.3.1 (ESC $ B selects JIS X 0208, ESC ( B returns to ASCII).
JIS_BYTES = b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B"


def charset_elements(kind: str) -> list[Element]:
    """Return the data set of charset_<kind>.dcm (``utf8``, ``latin1`` or ``jis``)."""
    elements = common(f"charset-{kind}", "=RawDataStorage", "OT")
    if kind == "utf8":
        elements.append(("0008,0005", "CS", s("ISO_IR 192")))
        elements += [(tag, "PN", s(in_bytes(v, "utf-8"))) for tag, v in UTF8_NAMES.items()]
        elements += [(tag, "LO", s(in_bytes(v, "utf-8"))) for tag, v in UTF8_TEXT.items()]
    elif kind == "latin1":
        elements.append(("0008,0005", "CS", s("ISO_IR 100")))
        elements += [(tag, vr, s(in_bytes(v, "latin-1"))) for tag, (vr, v) in LATIN1_TEXT.items()]
    else:
        if JIS_NAME.encode("iso2022_jp") != JIS_BYTES:
            raise RuntimeError("Python's iso2022_jp codec does not give the PS3.5 H.3.1 bytes")
        elements.append(("0008,0005", "CS", s("", "ISO 2022 IR 87")))
        elements.append(("0010,0010", "PN", s(in_bytes(JIS_NAME, "iso2022_jp"))))
        elements.append(("0008,1030", "LO", s("ASCII only description")))
    return elements


def float_elements(double: bool) -> list[Element]:
    """Return a Parametric Map-ish data set with Float or Double Float Pixel Data."""
    pixels = double_pixels() if double else float_pixels()
    name = "double" if double else "float"
    return [
        *common(name, s("1.2.840.10008.5.1.4.1.1.30"), "MR"),
        ("0008,0008", "CS", s("DERIVED", "PRIMARY")),
        ("0028,0002", "US", n(1)),
        ("0028,0004", "CS", s("MONOCHROME2")),
        ("0028,0008", "IS", s("1")),
        ("0028,0010", "US", n(16)),
        ("0028,0011", "US", n(16)),
        ("0028,0100", "US", n(64 if double else 32)),
        (
            "7fe0,0009" if double else "7fe0,0008",
            "OD" if double else "OF",
            n(*(float(value) for value in pixels.ravel())),
        ),
    ]


def bits1_elements(work: Path) -> list[Element]:
    """Return the 1-bit multi-frame data set."""
    packed = np.packbits(bits1_pixels().ravel(), bitorder="little")
    if packed.size % 2:
        packed = np.append(packed, np.uint8(0))
    return [
        *common("bits1", s("1.2.840.10008.5.1.4.1.1.7.1"), "OT"),
        ("0008,0064", "CS", s("WSD")),
        ("0018,1063", "DS", s("100")),
        ("0028,0008", "IS", s("3")),
        ("0028,0009", "AT", "(0018,1063)"),
        *monochrome(5, 7, (1, 1, 0), signed=False),
        ("7fe0,0010", "OB", raw(work, "bits1.raw", packed)),
    ]


def odd_elements(work: Path) -> list[Element]:
    """Return the small image whose PatientID is made odd-length afterwards."""
    elements = [
        e for e in common("odd", "=SecondaryCaptureImageStorage", "OT") if e[0] != "0010,0020"
    ]
    return [
        *elements,
        ("0008,0064", "CS", s("WSD")),
        ("0010,0010", "PN", s("Odd^Length")),
        ("0010,0020", "LO", s("ODD1234")),
        ("0010,0030", "DA", s("19800229")),
        *monochrome(4, 6, (8, 8, 7), signed=False),
        ("7fe0,0010", "OB", raw(work, "odd.raw", odd_pixels())),
    ]


# --------------------------------------------------------------------------------- generation

ODD_BEFORE = b"\x10\x00\x20\x00LO\x08\x00ODD1234 "
ODD_AFTER = b"\x10\x00\x20\x00LO\x07\x00ODD1234"


def make_odd_length(source: Path, target: Path) -> None:
    """Rewrite PatientID ``ODD1234 `` (length 8, padded) as ``ODD1234`` (length 7)."""
    data = source.read_bytes()
    if data.count(ODD_BEFORE) != 1:
        raise RuntimeError(f"{source}: PatientID element not found exactly once")
    target.write_bytes(data.replace(ODD_BEFORE, ODD_AFTER))


def generate_native(work: Path, out: Path) -> None:
    """Write every file that dump2dcm makes directly."""
    dump2dcm(work, ct_elements(work), out / "ct_explicit_le.dcm")
    dump2dcm(work, mr_elements(work), out / "mr_multiframe_uint16.dcm")
    for planar in (0, 1):
        dump2dcm(work, rgb_elements(work, planar), out / f"rgb_planar{planar}.dcm")
    dump2dcm(work, sequence_elements(), out / "sequences_defined.dcm", ("+te", "+e"))
    dump2dcm(work, sequence_elements(), out / "sequences_undefined.dcm", ("+te", "-e"))
    dump2dcm(work, all_vr_elements(), out / "all_vrs.dcm")
    for kind in ("utf8", "latin1", "jis"):
        dump2dcm(work, charset_elements(kind), out / f"charset_{kind}.dcm")
    dump2dcm(work, float_elements(double=False), out / "float_pixels.dcm")
    dump2dcm(work, float_elements(double=True), out / "double_pixels.dcm")
    dump2dcm(work, bits1_elements(work), out / "bits1_3frames.dcm")
    dump2dcm(work, odd_elements(work), work / "odd_source.dcm")
    make_odd_length(work / "odd_source.dcm", out / "odd_length_value.dcm")


def generate_converted(work: Path, out: Path) -> None:
    """Write every file that a converter makes from a dump2dcm file."""
    ct = out / "ct_explicit_le.dcm"
    run(["dcmconv", "+ti", ct, out / "ct_implicit_le.dcm"])
    run(["dcmconv", "+tb", ct, out / "ct_explicit_be.dcm"])
    run(["dcmconv", "+td", ct, out / "ct_deflated.dcm"])
    run(["dcmconv", "-F", "+ti", ct, out / "no_meta_implicit.dcm"])
    run(["dcmcrle", out / "mr_multiframe_uint16.dcm", out / "rle_multiframe.dcm"])
    run(["dcmcjpeg", "+e1", ct, out / "jpeg_lossless.dcm"])
    run(["gdcmconv", "--j2k", ct, out / "j2k_lossless.dcm"])
    dump2dcm(work, sequence_elements(), work / "sequences_implicit.dcm", ("+ti", "+e"))
    run(["gdcmconv", "-X", work / "sequences_implicit.dcm", out / "sequences.dcm"])
    (out / "truncated.dcm").write_bytes(ct.read_bytes()[:TRUNCATE_AT])


LONG_LENGTH_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR",
                   b"UT", b"UV"}  # fmt: skip


def describe_cut(data: bytes, cut: int) -> str:
    """Say where ``cut`` falls in an Explicit VR Little Endian file without sequences."""
    offset = 132
    while offset < cut:
        group, element = struct.unpack_from("<HH", data, offset)
        vr = data[offset + 4 : offset + 6]
        if vr in LONG_LENGTH_VRS:
            header, (length,) = 12, struct.unpack_from("<I", data, offset + 8)
        else:
            header, (length,) = 8, struct.unpack_from("<H", data, offset + 6)
        name = f"({group:04X},{element:04X}) {vr.decode()} at offset {offset}"
        if cut < offset + header:
            return f"ends {cut - offset} bytes into the {header}-byte header of {name}"
        if cut < offset + header + length:
            return f"ends {cut - offset - header} bytes into the {length}-byte value of {name}"
        offset += header + length
    return f"ends after the element ending at offset {offset}"


def tool_versions() -> dict[str, str]:
    """Return DCMTK's and GDCM's version lines, with the Debian package versions."""
    dcmtk = run(["dcmdump", "--version"]).splitlines()[0].strip("$ ").replace("dcmtk: ", "")
    gdcm = run(["gdcmconv", "--version"]).splitlines()[0].replace(" $Date$", "").strip()
    versions = {"DCMTK": dcmtk, "GDCM": gdcm}
    if shutil.which("dpkg-query"):
        for package in ("dcmtk", "libgdcm-tools"):
            query = ["dpkg-query", "-W", "-f", "${Version}", package]
            done = subprocess.run(query, capture_output=True, text=True, check=False)
            versions[f"Debian package {package}"] = done.stdout.strip() or "not installed"
    return versions


README_HEAD = """\
# testdata

Small DICOM files made by **peer toolkits** (DCMTK and GDCM), never by dicomframe, so the reader is
checked against bytes we did not write. `make_testdata.py` regenerates every file and this README
deterministically (fixed `2.25.` UIDs, fixed dates, numpy patterns from fixed seeds; two runs give
byte-identical files):

```bash
python testdata/make_testdata.py            # regenerate the .dcm files and this README
python testdata/make_testdata.py --check    # verify them (needs pydicom, the test oracle)
```

The script writes DCMTK dump text (dcmdump's format) and raw pixel files to a temporary directory
and runs `dump2dcm` (native pixel data through its `=filename` syntax; Float/Double Float Pixel
Data as decimal text, because dump2dcm reads only OB/OW values from files), then `dcmconv`,
`dcmcrle`, `dcmcjpeg` or `gdcmconv` for the other encodings. The expected pixel values are the
functions `ct_pixels()`, `mr_pixels()`, `rgb_pixels()`, `bits1_pixels()`, `float_pixels()`,
`double_pixels()` and `odd_pixels()` in `make_testdata.py` (shapes: frames, rows, columns,
samples); tests can load the script with importlib and call them.

`--check` runs dcmdump on every file (no `W:`/`E:` line except where listed below), reads every
file with `pydicom.dcmread(path, force=True)`, compares selected header values (person names in
all three character sets, DS/IS/AT/SV/UV/... values, sequence nesting and which length encodings
the sequences and items use) and compares pixel data with the numpy patterns: through pydicom for
native, RLE and JPEG 2000 (pylibjpeg-openjpeg) data, and through the peer decoder
(`dcmdrle`, `dcmdjpeg`, `gdcmconv --raw`) for each encapsulated file. pydicom decodes
`jpeg_lossless.dcm` only with pylibjpeg-libjpeg or GDCM's Python binding, which the venv lacks, so
that file is checked through `dcmdjpeg` alone.

Notes:

- DCMTK 3.6.7 knows OV, SV and UV (`dump2dcm` writes them from decimal text), so `all_vrs.dcm`
  needs no hand-built bytes. DCMTK parses decimal text with its own routine, which is not
  correctly rounded for every double (`1e308` is stored as 1.0000000000000007e+308), so the FD,
  OD and Double Float Pixel Data values are ones it stores exactly.
- DCMTK writes one length encoding for a whole file, hence `sequences_defined.dcm` and
  `sequences_undefined.dcm`; `sequences.dcm` has the mixed encoding that GDCM produces when it
  converts the Implicit VR version to Explicit VR.
- Two files are edited after the tools ran: `odd_length_value.dcm` (one element rewritten from
  `LO, length 8, "ODD1234 "` to `LO, length 7, "ODD1234"`: DCMTK always pads values to even
  length, so no tool here writes this) and `truncated.dcm` (cut at byte {truncate}).
- dcmdump prints no `W:`/`E:` line for any file except {noisy}. (`dcmdump +U8 charset_jis.dcm`
  fails with glibc's iconv, which lacks ISO 2022 IR 87; plain `dcmdump` is clean.)
- DCMTK writes its ImplementationClassUID and ImplementationVersionName (`OFFIS_DCMTK_367`),
  GDCM its own (`GDCM 3.0.21`, plus SourceApplicationEntityTitle `gdcmconv`), in the files each
  writes.

| file | covers | transfer syntax | made by |
| --- | --- | --- | --- |
"""


def write_readme(out: Path) -> None:
    """Write README.md: the notes, one table row per file, and the tool versions."""
    noisy = ", ".join(f"`{f.name}` (`{f.diagnostics}`)" for f in FILES if f.diagnostics)
    text = README_HEAD.format(truncate=TRUNCATE_AT, noisy=noisy)
    cut = describe_cut((out / "ct_explicit_le.dcm").read_bytes(), TRUNCATE_AT)
    for f in FILES:
        covers = f.covers.replace("|", "\\|").replace("{cut}", cut)
        text += f"| `{f.name}` | {covers} | {f.syntax} | {f.tool} |\n"
    text += "\nTools used to make the files above:\n\n"
    text += "".join(f"- {name}: `{version}`\n" for name, version in tool_versions().items())
    total = sum(path.stat().st_size for path in out.glob("*.dcm"))
    text += f"\nTotal size of the .dcm files: {total} bytes.\n"
    (out / "README.md").write_text(text, encoding="utf-8")


def generate(out: Path) -> None:
    """Regenerate every file in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dicomframe-testdata-") as tmp:
        work = Path(tmp)
        generate_native(work, out)
        generate_converted(work, out)
    expected = {f.name for f in FILES}
    made = {path.name for path in out.glob("*.dcm")}
    if made != expected:
        raise RuntimeError(f"made {sorted(made ^ expected)} unexpectedly / missing")
    write_readme(out)


# ---------------------------------------------------------------------------------- checking

NATIVE_PIXELS: dict[str, Callable[[], npt.NDArray[Any]]] = {
    "ct_explicit_le.dcm": ct_pixels,
    "ct_implicit_le.dcm": ct_pixels,
    "ct_explicit_be.dcm": ct_pixels,
    "ct_deflated.dcm": ct_pixels,
    "no_meta_implicit.dcm": ct_pixels,
    "mr_multiframe_uint16.dcm": mr_pixels,
    "rle_multiframe.dcm": mr_pixels,
    "rgb_planar0.dcm": rgb_pixels,
    "rgb_planar1.dcm": rgb_pixels,
    "float_pixels.dcm": float_pixels,
    "double_pixels.dcm": double_pixels,
    "bits1_3frames.dcm": bits1_pixels,
    "odd_length_value.dcm": odd_pixels,
    "jpeg_lossless.dcm": ct_pixels,
    "j2k_lossless.dcm": ct_pixels,
}
# Encapsulated files: the peer tool that decodes them for the round-trip check.
DECODERS: dict[str, list[str]] = {
    "rle_multiframe.dcm": ["dcmdrle"],
    "jpeg_lossless.dcm": ["dcmdjpeg"],
    "j2k_lossless.dcm": ["gdcmconv", "--raw"],
}
HEADER_VALUES: dict[str, dict[str, Any]] = {
    "ct": {
        "PatientName": "Doe^Jane^M^Dr^PhD",
        "ImagePositionPatient": [-125.5, -130.25, 42.0],
        "PixelSpacing": [0.78125, 0.8],
        "WindowCenter": [40.0, 400.0],
        "RescaleSlope": 1.25,
        "ReferencedFrameNumber": [1, -2, 3, 4],
        "AcquisitionDateTime": "20240102093512.345678+0100",
    },
    "charset_utf8.dcm": {"PatientName": UTF8_NAMES["0010,0010"]},
    "charset_latin1.dcm": {"PatientName": "Müller^Jürgen"},
    "charset_jis.dcm": {"PatientName": JIS_NAME},
    "odd_length_value.dcm": {"PatientID": "ODD1234", "PatientBirthDate": "19800229"},
    "all_vrs.dcm": {
        "FrameIncrementPointer": [0x00181063, 0x00181065],
        "TableOfParameterValues": [float(np.float32(v)) for v in FL_VALUES],
        "TableOfYBreakPoints": list(FD_VALUES),
        "ReferencedFrameNumber": [1, -(2**31), 2**31 - 1],
        "RationalNumeratorValue": [-(2**31), 2**31 - 1],
        "VerticesOfThePolygonalExposureControlSensingRegion": [-32768, 32767, -1, 0],
        "SelectorSVValue": [-(2**63), 2**63 - 1],
        "SelectorUVValue": [0, 2**64 - 1],
        "SimpleFrameList": [0, 2**32 - 1],
        "AcquisitionMatrix": [0, 64, 65535, 0],
        "PerformingPhysicianName": ["Doe^Jane^M^Dr^PhD", "Smith^John"],
        "PatientComments": "LT keeps \\ backslashes: no multi-values",
    },
}


def oracle() -> ModuleType:
    """Return pydicom, the test oracle: only ``--check`` needs it, generating does not."""
    return importlib.import_module("pydicom")


def dcmdump_diagnostics(path: Path) -> list[str]:
    """Return dcmdump's ``W:``/``E:`` lines for ``path``."""
    done = subprocess.run(["dcmdump", str(path)], capture_output=True, check=False)
    lines = (done.stdout + done.stderr).decode("utf-8", "replace").splitlines()
    return [line for line in lines if line.startswith(("W:", "E:", "F:"))]


def normalise(value: object) -> object:
    """Return pydicom values as plain str/float/list for comparison."""
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):  # MultiValue too
        return [normalise(item) for item in value]
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def check_header(name: str, ds: Dataset) -> list[str]:
    """Return mismatches between ``ds`` and the expected header values."""
    key = "ct" if name.startswith("ct_") or name == "no_meta_implicit.dcm" else name
    problems = []
    for keyword, expected in HEADER_VALUES.get(key, {}).items():
        got = normalise(ds[keyword].value)
        if got != normalise(expected):
            problems.append(f"{keyword} = {got!r}, expected {expected!r}")
    return problems


def pixels_problem(name: str, array: npt.NDArray[Any]) -> str | None:
    """Return why ``array`` differs from the pattern of ``name``, or None."""
    expected = NATIVE_PIXELS[name]()
    if array.shape != expected.shape or not np.array_equal(array, expected):
        return f"pixels differ (shape {array.shape} vs {expected.shape})"
    if array.dtype.kind != expected.dtype.kind:
        return f"dtype {array.dtype} vs {expected.dtype}"
    return None


def check_pixels(name: str, path: Path, ds: Dataset) -> tuple[list[str], str]:
    """Check pydicom's pixel_array and, for encapsulated files, a peer tool's decoding."""
    pydicom = oracle()

    problems: list[str] = []
    try:
        problem = pixels_problem(name, ds.pixel_array)
        note = "pixels match (pydicom)"
    except (RuntimeError, NotImplementedError, ValueError) as exc:
        problem, note = None, f"pydicom cannot decode ({type(exc).__name__})"
    if problem:
        problems.append(problem)
    if name in DECODERS:
        with tempfile.TemporaryDirectory() as tmp:
            decoded = Path(tmp) / "decoded.dcm"
            run([*DECODERS[name], path, decoded])
            problem = pixels_problem(name, pydicom.dcmread(decoded).pixel_array)
        problems += [f"{DECODERS[name][0]}-decoded {problem}"] if problem else []
        note += f"; {DECODERS[name][0]}-decoded pixels match"
        note += f"; basic offset table {basic_offsets(ds.PixelData)}"
    return problems, note


def basic_offsets(data: bytes) -> list[int]:
    """Return the Basic Offset Table entries of encapsulated pixel data."""
    _group, _element, length = struct.unpack_from("<HHI", data, 0)
    return [int(v) for v in np.frombuffer(data[8 : 8 + length], dtype="<u4")]


def length_encodings(ds: Dataset) -> str:
    """Return which length encodings the sequences and items of ``ds`` use, e.g. ``SQ u/l``."""
    found: set[str] = set()
    for element in ds.iterall():
        if element.VR != "SQ":
            continue
        if element.value:
            found.add("SQ u/l" if element.is_undefined_length else "SQ defined")
        else:
            found.add("empty SQ u/l" if element.is_undefined_length else "empty SQ defined")
        for item in element.value:
            undefined = item.is_undefined_length_sequence_item
            found.add("item u/l" if undefined else "item defined")
    return ", ".join(sorted(found))


SEQUENCE_ENCODINGS = {
    "sequences_defined.dcm": "SQ defined, empty SQ defined, item defined",
    "sequences_undefined.dcm": "SQ u/l, empty SQ u/l, item u/l",
    "sequences.dcm": "SQ u/l, empty SQ defined, item defined",
}


def check_sequences(name: str, ds: Dataset) -> tuple[list[str], str]:
    """Check the nesting, the empty sequence/item and the length encodings."""
    series = ds.ReferencedSeriesSequence
    images = series[0].ReferencedImageSequence
    problems = [
        what
        for what, good in (
            ("empty ProcedureCodeSequence", len(ds.ProcedureCodeSequence) == 0),
            ("empty second item", len(series) == 2 and len(series[1]) == 0),
            ("level 3 code", images[0].PurposeOfReferenceCodeSequence[0].CodeValue == "121311"),
            ("empty level 3 sequence", len(images[1].PurposeOfReferenceCodeSequence) == 0),
        )
        if not good
    ]
    if name != "sequences.dcm":  # there GDCM turned the private elements into UN
        private = ds[0x0009, 0x1010].value
        if len(private) != 2 or private[0][0x0009, 0x1001].value != "inside private item":
            problems.append("private sequence")
        if ds[0x0009, 0x1002].value != [1, 2, 65535]:
            problems.append("private US")
    encodings = length_encodings(ds)
    if encodings != SEQUENCE_ENCODINGS[name]:
        problems.append(f"length encodings {encodings}, expected {SEQUENCE_ENCODINGS[name]}")
    return problems, f"3 levels; {encodings}"


def check_content(entry: TestFile, path: Path, ds: Dataset) -> tuple[list[str], str]:
    """Check header values, pixels, sequences or VRs, whichever the file is about."""
    pydicom = oracle()

    problems = check_header(entry.name, ds)
    note = f"{len(ds)} top-level elements"
    if "TransferSyntaxUID" not in ds.file_meta:  # no_meta_implicit.dcm: pydicom guessed it
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    if entry.name in NATIVE_PIXELS:
        more, note = check_pixels(entry.name, path, ds)
        problems += more
    elif entry.name in SEQUENCE_ENCODINGS:
        more, note = check_sequences(entry.name, ds)
        problems += more
    elif entry.name == "all_vrs.dcm":
        vrs = {element.VR for element in ds.iterall()}
        problems += [f"{len(vrs)} VRs"] if len(vrs) != 34 else []
        note = f"{len(vrs)} VRs: {' '.join(sorted(vrs))}"
    return problems, note


def check_file(entry: TestFile, path: Path) -> tuple[list[str], str]:
    """Check one file; return its problems and a one-line note."""
    pydicom = oracle()

    problems: list[str] = []
    diagnostics = dcmdump_diagnostics(path)
    expected = entry.diagnostics.split("...")[-1].strip()
    if bool(diagnostics) != bool(expected) or not all(expected in d for d in diagnostics):
        problems.append(f"dcmdump diagnostics {diagnostics!r}, expected: {expected!r}")
    try:
        ds = pydicom.dcmread(path, force=True)
        _ = list(ds)  # parse lazily read elements too
    except Exception as exc:  # anything pydicom raises is the finding
        if entry.name == "truncated.dcm":
            return problems, f"pydicom refuses it: {type(exc).__name__}"
        return [*problems, f"pydicom: {type(exc).__name__}: {exc}"], ""
    if entry.name == "truncated.dcm":
        return problems, f"pydicom reads {len(ds)} elements before the cut"
    more, note = check_content(entry, path, ds)
    return problems + more, note


def check(out: Path) -> int:
    """Verify every file in ``out``; return the process exit status."""
    failures = 0
    for entry in FILES:
        problems, note = check_file(entry, out / entry.name)
        failures += bool(problems)
        status = "FAIL" if problems else "ok"
        print(f"{status:4} {entry.name}: {note}")
        for problem in problems:
            print(f"     - {problem}")
    total = sum(path.stat().st_size for path in out.iterdir() if path.is_file())
    print(f"{len(FILES) - failures} passed, {failures} failed ({total} bytes in {out})")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and generate or check the files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="verify the files, do not write")
    parser.add_argument("--out", type=Path, default=HERE, help="output directory")
    args = parser.parse_args(argv)
    for tool in ("dump2dcm", "dcmconv", "dcmcrle", "dcmcjpeg", "gdcmconv", "dcmdump"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} not found: apt-get install dcmtk libgdcm-tools")
    if args.check:
        return check(args.out)
    generate(args.out)
    print(f"wrote {len(FILES)} files and README.md to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
