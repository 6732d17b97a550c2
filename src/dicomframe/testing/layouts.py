"""The native layouts ``check_codec`` builds from a codec's Capabilities.

A codec is held to what it declares, so the layouts come from its
:class:`~dicomframe.plugins.Capabilities` and nowhere else: every Bits
Allocated it lists (1, 8, 16, 32, 64), signed and unsigned, every
photometric interpretation it admits with the samples that interpretation
has, planar configurations 0 and 1, Bits Stored equal to and below Bits
Allocated, an odd size and the smallest size it accepts (``min_size``).

Rather than the whole product (thousands of layouts for a codec that admits
everything), each *base* (Bits Allocated, photometric, sign) is built in its
plain form (Bits Stored = Bits Allocated, an odd size, planar 0) and then
varied one way at a time: planar configuration 1, Bits Stored below Bits
Allocated with the bits above it set ("dirty", PS3.5 8.1.1: their values
cannot be assumed), the minimal size. A bug that depends on one of these
facts shows in the layout that varies it.

Some combinations are not built, because the standard does not define them
or :mod:`dicomframe.color` cannot convert them, and the kit says so in its
report: colour and palette data are unsigned (PS3.3 C.7.6.3.1.1); PALETTE
COLOR indices and the YBR models are 8 or 16 bits; 1-bit data is monochrome;
YBR_FULL_422 has planar configuration 0 and an even number of columns (PS3.3
C.7.6.3.1.2). Photometric interpretations of compressed streams only
(YBR_ICT, YBR_RCT, YBR_PARTIAL_420) have no native layout to encode.
"""

from __future__ import annotations

from dataclasses import dataclass

from dicomframe.core.frame_info import FrameInfo
from dicomframe.plugins.codec import Capabilities

__all__ = ["PHOTOMETRIC_SAMPLES", "Layout", "describe", "layouts"]

# The native photometric interpretations the kit builds, with their samples per pixel
# (PS3.3 C.7.6.3.1.2). ARGB and CMYK are retired but still the only 4-sample models.
PHOTOMETRIC_SAMPLES = {
    "MONOCHROME1": 1,
    "MONOCHROME2": 1,
    "PALETTE COLOR": 1,
    "RGB": 3,
    "YBR_FULL": 3,
    "YBR_FULL_422": 3,
    "ARGB": 4,
    "CMYK": 4,
}
# What "any photometric" (Capabilities.photometric None) is tried as: one 4-sample model
# is enough, since nothing in a codec tells ARGB from CMYK.
_ANY_PHOTOMETRIC = tuple(p for p in PHOTOMETRIC_SAMPLES if p != "CMYK")
_MONOCHROME = ("MONOCHROME1", "MONOCHROME2")
_NARROW = ("PALETTE COLOR", "YBR_FULL", "YBR_FULL_422")  # 8 or 16 bits only
# Bits Stored below Bits Allocated: a common width for each container (12 in 16, say).
_BELOW = {8: 6, 16: 12, 32: 24, 64: 40}


@dataclass(frozen=True, slots=True)
class Layout:
    """One native layout to try: its FrameInfo, and whether bits above Bits Stored are set."""

    info: FrameInfo
    dirty: bool = False

    def __str__(self) -> str:
        return describe(self.info) + (" (bits above Bits Stored set)" if self.dirty else "")


def describe(info: FrameInfo) -> str:
    """A layout in a few words, as the report and failure messages show it."""
    bits = f"{info.bits_allocated}" + (
        f"/{info.bits_stored}" if info.bits_stored != info.bits_allocated else ""
    )
    sign = "signed" if info.pixel_representation else "unsigned"
    planar = f" planar {info.planar_configuration}" if info.samples_per_pixel > 1 else ""
    return f"{info.rows}x{info.columns} {bits}-bit {sign} {info.photometric_interpretation}{planar}"


def layouts(caps: Capabilities) -> tuple[list[Layout], list[str]]:
    """Every layout ``caps`` admits, and notes on what it declares but the kit cannot build."""
    found: list[Layout] = []
    notes: list[str] = []
    for photometric in _photometrics(caps, notes):
        for bits in sorted(caps.bits_allocated):
            if not _fits(photometric, bits):
                continue
            for signed in _signs(caps, photometric, bits):
                found.extend(_variants(caps, photometric, bits, signed))
    admitted = [layout for layout in found if caps.why_not(layout.info) is None]
    return admitted, notes


def _photometrics(caps: Capabilities, notes: list[str]) -> list[str]:
    declared = _ANY_PHOTOMETRIC if caps.photometric is None else sorted(caps.photometric)
    chosen = []
    for photometric in declared:
        samples = PHOTOMETRIC_SAMPLES.get(photometric)
        if samples is None:
            notes.append(f"{photometric}: not a native layout the kit builds")
        elif samples in caps.samples_per_pixel:
            chosen.append(photometric)
    return chosen


def _fits(photometric: str, bits: int) -> bool:
    """Whether the standard (and dicomframe.color) define ``photometric`` at ``bits``."""
    if bits == 1:
        return photometric in _MONOCHROME
    return bits in (8, 16) or photometric not in _NARROW


def _signs(caps: Capabilities, photometric: str, bits: int) -> tuple[int, ...]:
    signed = caps.signed and photometric in _MONOCHROME and bits > 1
    return (0, 1) if signed else (0,)


def _variants(caps: Capabilities, photometric: str, bits: int, signed: int) -> list[Layout]:
    """The plain layout of one base, then one variation at a time."""
    stored = bits if caps.max_bits_stored is None else min(bits, caps.max_bits_stored)
    if stored < 1:
        return []
    plain = _info(photometric, bits, stored, signed, _odd_size(caps.min_size, photometric))
    variants = [Layout(plain, dirty=stored < bits)]
    if plain.samples_per_pixel > 1 and photometric != "YBR_FULL_422":
        variants.append(Layout(plain.replace(planar_configuration=1), dirty=stored < bits))
    below = min(_BELOW.get(bits, bits), stored)
    if below < stored:
        variants.append(Layout(plain.replace(bits_stored=below, high_bit=below - 1), dirty=True))
    rows, columns = _minimal_size(caps.min_size, photometric)
    if (rows, columns) != (plain.rows, plain.columns):
        variants.append(Layout(plain.replace(rows=rows, columns=columns), dirty=stored < bits))
    return variants


def _info(
    photometric: str, bits: int, stored: int, signed: int, size: tuple[int, int]
) -> FrameInfo:
    return FrameInfo(
        rows=size[0],
        columns=size[1],
        samples_per_pixel=PHOTOMETRIC_SAMPLES[photometric],
        bits_allocated=bits,
        bits_stored=stored,
        high_bit=stored - 1,
        pixel_representation=signed,
        photometric_interpretation=photometric,
        transfer_syntax_uid="1.2.840.10008.1.2.1",
    )


def _odd_size(min_size: int, photometric: str) -> tuple[int, int]:
    """Odd rows and columns, not square (a transposed frame shows), at least ``min_size``."""
    rows = max(min_size, 7) | 1
    columns = rows + 2
    return rows, _even(columns) if photometric == "YBR_FULL_422" else columns


def _minimal_size(min_size: int, photometric: str) -> tuple[int, int]:
    size = max(min_size, 1)
    return size, _even(size) if photometric == "YBR_FULL_422" else size


def _even(columns: int) -> int:
    return columns + columns % 2
