"""Structure-aware mutators: each changes one element, item or header of a mapped document.

A mutator takes a :class:`~tests.fuzz.layout.Layout` and a ``random.Random``
(under hypothesis, one whose choices hypothesis makes and shrinks) and
returns the mutated :class:`~tests.fuzz.layout.Doc`, or None when the
document has nothing it applies to; :func:`mutate` then falls back to a
byte-level change, so every step changes something.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from dicomframe.core.vr import VR
from tests.fuzz import pixels
from tests.fuzz.edits import (
    encode_element,
    insert_sorted,
    overwrite,
    pack,
    set_element,
    splice,
    value_bytes,
)
from tests.fuzz.layout import UNDEFINED, Doc, Layout, Node, walk

__all__ = ["HOSTILE", "LONG_RUN_MUTATORS", "MAX_BYTES", "MUTATORS", "mutate", "mutate_bytes"]

Mutator = Callable[[Layout, random.Random], Doc | None]
MAX_BYTES = 2 << 20  # a mutated document stays under 2 MiB (the largest seed is 283 KB)

VR_CODES = [vr.value.encode() for vr in VR]
BAD_VRS = [b"\0\0", b"  ", b"ob", b"XX", b"\xff\xff", b"S\0"]
SIZES = (0, 1, 2, 3, 7, 8, 255, 256, 4095, 8000, 32767, 32768, 60000, 65535)
_UIDS = "1.2.840.10008.1.2"
SYNTAXES = (
    *(f"{_UIDS}{suffix}" for suffix in ("", ".1", ".2", ".1.99", ".1.98", ".5", ".8.1")),
    *(f"{_UIDS}.4.{n}" for n in (50, 51, 57, 70, 80, 81, 90, 91, 100, 110, 201, 203)),
    "1.2.3.4",
    "",
    f"{_UIDS}.4.90\\{_UIDS}",
    "ExplicitVRLittleEndian",
)
PHOTOMETRIC = (
    *("MONOCHROME1", "MONOCHROME2", "RGB", "PALETTE COLOR", "YBR_FULL", "YBR_FULL_422"),
    *("YBR_ICT", "YBR_RCT", "YBR_PARTIAL_420", "HSV", "ARGB", "CMYK", "", "XYZ", "rgb"),
)
FRAMES = ("0", "1", "2", "3", "7", "-1", "1A", "", " ", "99999999", "2147483648", "1e3", "3.5")
NUMBERS = ("0", "-1", "1", "1e308", "-1e308", "NaN", "inf", "-inf", "abc", "40\\400", "", "1e-320")
CHARSETS = ("ISO_IR 100", "ISO 2022 IR 87", "GARBAGE", "ISO_IR 192\\ISO 2022 IR 13")
PALETTE_DESCRIPTORS = ((0, 0, 16), (65535, 0, 8), (1, 0, 0), (256, 0, 17), (4096, 65535, 16), 7)
PALETTE_DATA = (b"", b"\x01", b"\0\1" * 3, b"\xff" * 512, b"\x10\x00" * 256)
OFFSETS = (b"", b"\0" * 8, b"\xff" * 16, bytes(range(24)), b"\0" * 7)
LENGTHS = (b"", b"\x10" + b"\0" * 7, b"\xff" * 16, b"\0" * 8 * 3, b"\1" * 9)

# tag -> (VR, hostile values): the attributes that size, shape and render pixels.
HOSTILE: dict[int, tuple[bytes, tuple[object, ...]]] = {
    0x00020010: (b"UI", SYNTAXES),
    0x00080005: (b"CS", CHARSETS),
    0x00280002: (b"US", (0, 1, 2, 3, 4, 5, 255, 65535)),
    0x00280004: (b"CS", PHOTOMETRIC),
    0x00280006: (b"US", (0, 1, 2, 65535)),
    0x00280008: (b"IS", FRAMES),
    0x00280010: (b"US", SIZES),
    0x00280011: (b"US", SIZES),
    0x00280100: (b"US", (0, 1, 4, 7, 8, 12, 16, 24, 32, 48, 64, 128, 65535)),
    0x00280101: (b"US", (0, 1, 7, 8, 12, 16, 17, 31, 32, 33, 64, 65, 65535)),
    0x00280102: (b"US", (0, 7, 11, 15, 16, 31, 63, 64, 65535)),
    0x00280103: (b"US", (0, 1, 2, 65535)),
    0x00281050: (b"DS", NUMBERS),  # Window Center
    0x00281051: (b"DS", NUMBERS),  # Window Width
    0x00281052: (b"DS", NUMBERS),  # Rescale Intercept
    0x00281053: (b"DS", NUMBERS),  # Rescale Slope
    0x00281056: (b"CS", ("LINEAR", "LINEAR_EXACT", "SIGMOID", "BOGUS", "")),
    0x00281101: (b"US", PALETTE_DESCRIPTORS),
    0x00281102: (b"US", PALETTE_DESCRIPTORS),
    0x00281103: (b"US", PALETTE_DESCRIPTORS),
    0x00281201: (b"OW", PALETTE_DATA),
    0x00281202: (b"OW", PALETTE_DATA),
    0x00281203: (b"OW", PALETTE_DATA),
    0x7FE00001: (b"OV", OFFSETS),  # Extended Offset Table
    0x7FE00002: (b"OV", LENGTHS),  # Extended Offset Table Lengths
}
LUT_SEQUENCES = (0x00283000, 0x00283010)  # Modality LUT, VOI LUT
LUT_DESCRIPTORS = ((0, 0, 16), (3, 0, 16), (65535, 65535, 8), (2, 32768, 1), (1, 0, 65535))


def _pick(layout: Layout, rnd: random.Random, *kinds: str) -> Node | None:
    nodes = [n for n in layout.nodes if n.kind in kinds] if kinds else list(layout.nodes)
    return rnd.choice(nodes) if nodes else None


def mutate_length(layout: Layout, rnd: random.Random) -> Doc | None:
    """A length field set to a hostile value, nothing else changed."""
    node = _pick(layout, rnd)
    if node is None:
        return None
    size, old = node.length_size, node.length or 0
    remaining = len(layout.doc.plain) - node.value_at
    top = (1 << (8 * size)) - 1
    choices = [0, 1, 2, 3, old - 1, old + 1, old + 2, old * 2, remaining, remaining + 1, top]
    choices += [top - 1, 0x7FFFFFFF, 0x80000000, rnd.getrandbits(8 * size)]
    value = rnd.choice([c for c in choices if 0 <= c <= top])
    return overwrite(layout.doc, node.length_at, pack(value, size, node.little))


def mutate_resize(layout: Layout, rnd: random.Random) -> Doc | None:
    """A value made shorter or longer, its length and the enclosing lengths kept consistent."""
    nodes = [n for n in layout.nodes if n.kind != "delimiter" and n.length is not None]
    if not nodes:
        return None
    node = rnd.choice(nodes)
    # A damaged length may claim more than the file holds: resize what is there.
    old = min(node.length or 0, max(len(layout.doc.plain) - node.value_at, 0))
    new = rnd.choice([0, 1, max(old - 1, 0), old + 1, old + 3, old * 2, old // 2])
    if node.length_size == 2:
        new = min(new, 0xFFFF)
    fill = rnd.choice([b"\0", b" ", b"\xff", bytes([rnd.getrandbits(8)])])
    value = layout.doc.plain[node.value_at : node.value_at + old]
    value = (value + fill * max(new - old, 0))[:new]
    header = layout.doc.plain[node.start : node.length_at] + pack(
        new, node.length_size, node.little
    )
    header += layout.doc.plain[node.length_at + node.length_size : node.value_at]
    return splice(
        layout.doc,
        node.start,
        node.end - node.start,
        header + value,
        node.containers,
        in_meta=node.parent == -2,
    )


def mutate_vr(layout: Layout, rnd: random.Random) -> Doc | None:
    """A VR changed: its two bytes only, or the whole header rewritten for the new VR."""
    node = _pick(layout, rnd, "element")
    if node is None or node.vr_at is None:
        return None
    vr = rnd.choice(VR_CODES + BAD_VRS)
    if node.length is None or vr in BAD_VRS or rnd.random() < 0.3:
        return overwrite(layout.doc, node.vr_at, vr)
    value = layout.doc.plain[node.value_at : node.value_at + node.length]
    element = encode_element(node.tag, vr, value, little=node.little, explicit=True)
    return splice(
        layout.doc,
        node.start,
        node.end - node.start,
        element,
        node.containers,
        in_meta=node.parent == -2,
    )


def mutate_truncate(layout: Layout, rnd: random.Random) -> Doc | None:
    """The file cut at an element boundary, give or take a few bytes."""
    doc = layout.doc
    if doc.deflated and rnd.random() < 0.3:  # the compressed stream itself cut short
        data = doc.encode()
        cut = rnd.randint(min(doc.body_at, len(data)), len(data))
        return Doc(data[:cut], doc.body_at)
    node = _pick(layout, rnd)
    if node is None:
        return None
    marks = [node.start, node.length_at, node.value_at, node.end, node.vr_at or node.start]
    cut = min(max(rnd.choice(marks) + rnd.randint(-8, 8), 0), len(doc.plain))
    return doc.with_plain(doc.plain[:cut], min(doc.body_at, cut))


def mutate_duplicate(layout: Layout, rnd: random.Random) -> Doc | None:
    """An element, item or fragment repeated right after itself."""
    node = _pick(layout, rnd, "element", "item", "fragment")
    if node is None or node.end > len(layout.doc.plain):
        return None
    copy = layout.doc.plain[node.start : node.end] * rnd.choice([1, 1, 2, 3])
    return splice(layout.doc, node.end, 0, copy, node.containers, in_meta=node.parent == -2)


def _nested(depth: int, *, little: bool, explicit: bool, defined: bool) -> bytes:
    """A sequence nested ``depth`` levels deep, one item per level."""
    content = encode_element(0x00080100, b"SH", b"LEAF", little=little, explicit=explicit)
    head = pack(0xFFFE, 2, little) + pack(0xE000, 2, little)
    close_item = pack(0xFFFE, 2, little) + pack(0xE00D, 2, little) + b"\0" * 4
    close_seq = pack(0xFFFE, 2, little) + pack(0xE0DD, 2, little) + b"\0" * 4
    for _ in range(depth):
        if defined:
            item = head + pack(len(content), 4, little) + content
            content = encode_element(0x00081140, b"SQ", item, little=little, explicit=explicit)
        else:
            item = head + pack(UNDEFINED, 4, little) + content + close_item
            sq = encode_element(0x00081140, b"SQ", b"", little=little, explicit=explicit)
            content = sq[:-4] + pack(UNDEFINED, 4, little) + item + close_seq
    return content


def mutate_nest(layout: Layout, rnd: random.Random) -> Doc | None:
    """A sequence nested up to far past the depth limit, in the dataset or inside an item."""
    depth = rnd.choice([1, 2, 8, 64, 99, 100, 101, 150, 400])
    nested = _nested(
        depth, little=layout.little, explicit=layout.explicit, defined=rnd.random() < 0.5
    )
    items = [n for n in layout.nodes if n.kind == "item"]
    parent = rnd.choice(items).start if items and rnd.random() < 0.5 else -1
    return insert_sorted(layout, parent, 0x00081140, nested)


def mutate_attribute(layout: Layout, rnd: random.Random) -> Doc | None:
    """An attribute that sizes, shapes or renders the pixels set to a hostile value."""
    if rnd.random() < 0.15:
        return _lut_sequence(layout, rnd)
    tag = rnd.choice(sorted(HOSTILE))
    vr, values = HOSTILE[tag]
    little = True if tag >> 16 == 2 else layout.little
    value = value_bytes(vr, rnd.choice(values), little)
    return set_element(layout, tag, vr, value)


def _lut_sequence(layout: Layout, rnd: random.Random) -> Doc:
    """A Modality or VOI LUT Sequence whose descriptor and data disagree."""
    little, explicit = layout.little, layout.explicit
    descriptor = rnd.choice(LUT_DESCRIPTORS)
    data = rnd.randbytes(rnd.choice([0, 2, 6, 512]))
    item = encode_element(
        0x00283002, b"US", value_bytes(b"US", descriptor, little), little=little, explicit=explicit
    )
    item += encode_element(0x00283006, b"OW", data, little=little, explicit=explicit)
    head = pack(0xFFFE, 2, little) + pack(0xE000, 2, little) + pack(len(item), 4, little)
    tag = rnd.choice(LUT_SEQUENCES)
    return set_element(layout, tag, b"SQ", head + item)


def mutate_bytes(layout: Layout, rnd: random.Random) -> Doc:
    """One to four unstructured byte changes, in a chosen value or anywhere."""
    doc = layout.doc
    buf = bytearray(doc.plain)
    node = _pick(layout, rnd) if rnd.random() < 0.7 else None
    low, high = (node.start, min(node.end, len(buf))) if node else (0, len(buf))
    for _ in range(rnd.randint(1, 4)):
        high = min(high, len(buf))
        if high <= low:
            break
        at = rnd.randrange(low, high)
        kind = rnd.randrange(5)
        if kind == 0:
            buf[at] ^= 1 << rnd.randrange(8)
        elif kind == 1:
            buf[at] = rnd.choice([0, 0xFF, 0x7F, 0x80, 0xFE])
        elif kind == 2:
            word = rnd.choice([0, 0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF, 0x8000, rnd.getrandbits(32)])
            buf[at : at + 4] = pack(word, 4, rnd.random() < 0.5)
        elif kind == 3:
            buf[at:at] = rnd.randbytes(rnd.randint(1, 16))
        else:
            del buf[at : at + rnd.randint(1, 16)]
    return doc.with_plain(bytes(buf), min(doc.body_at, len(buf)))


MUTATORS: dict[str, Mutator] = {
    "length": mutate_length,
    "resize": mutate_resize,
    "vr": mutate_vr,
    "truncate": mutate_truncate,
    "duplicate": mutate_duplicate,
    "nest": mutate_nest,
    "attribute": mutate_attribute,
    "fragments": pixels.mutate_fragments,
    "codestream": pixels.mutate_codestream,
    "bomb": pixels.mutate_bomb,
    "bytes": mutate_bytes,
}
# Only for long runs (tools/fuzz.py): frames up to 8000 x 8000 within the limits, which cost
# some decoders seconds per input.
LONG_RUN_MUTATORS: dict[str, Mutator] = MUTATORS | {"big": pixels.mutate_big}


def mutate(doc: Doc, names: list[str], rnd: random.Random) -> Doc:
    """``doc`` after each named mutator in turn (a byte change where one does not apply).

    A step that would grow the document past :data:`MAX_BYTES` is skipped, so
    stacked duplications cannot snowball.
    """
    for name in names:
        layout = walk(doc)
        changed = LONG_RUN_MUTATORS[name](layout, rnd) or mutate_bytes(layout, rnd)
        if len(changed.plain) <= MAX_BYTES:
            doc = changed
    return doc
