"""Pixel-data mutators: fragments and offset tables, codestream headers, and size bombs.

Codestream headers are found by their markers in each fragment, whatever the
transfer syntax says, so that after a syntax change every decoder also sees
the other codecs' streams: J2K SIZ and COD, JPEG SOFn and SOS, JPEG-LS SOF55,
and the RLE header (a segment count and fifteen offsets).
"""

from __future__ import annotations

import functools
import random
import zlib
from dataclasses import dataclass

from tests.fuzz.edits import encode_element, overwrite, pack, set_element, splice, value_bytes
from tests.fuzz.layout import (
    DEFLATED,
    ITEM,
    ITEM_END,
    PIXEL_DATA,
    SEQUENCE_END,
    UNDEFINED,
    Doc,
    Layout,
    Node,
    walk,
)

__all__ = [
    "find_headers",
    "mutate_big",
    "mutate_bomb",
    "mutate_codestream",
    "mutate_fragments",
]

WIDE = (0, 1, 2, 63, 64, 65, 4096, 60000, 65535, 0x7FFFFFFF, 0xFFFFFFFF)
NEAR = (0, 1, 64, 0xFFFFFFFF)
SIDE = (0, 1, 2, 255, 8000, 60000, 65535)
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
SIZ = (
    *((2, 2, (0, 1, 38, 41, 47, 65535)), (4, 2, (0, 0x4000, 0xFFFF))),  # Lsiz, Rsiz
    *((at, 4, WIDE) for at in (6, 10, 22, 26)),  # image and tile width and height
    *((at, 4, NEAR) for at in (14, 18, 30, 34)),  # image and tile origins
    (38, 2, (0, 1, 2, 3, 4, 16384, 65535)),  # components
    (40, 1, (0, 7, 15, 0x8F, 37, 38, 0xFF)),  # first component's depth and sign
    *((at, 1, (0, 1, 2, 255)) for at in (41, 42)),  # its subsampling
)
COD = (
    *(
        (2, 2, (0, 1, 65535)),
        (5, 1, (0, 4, 5, 255)),
        (6, 2, (0, 1, 65535)),
    ),  # length, order, layers
    *((8, 1, (0, 1, 2, 255)), (9, 1, (0, 5, 32, 33, 255))),  # MCT, decomposition levels
    *((10, 1, (0, 4, 8, 9, 255)), (11, 1, (0, 4, 8, 9, 255)), (13, 1, (0, 1, 2, 255))),
)
SOF = (
    *((2, 2, (0, 2, 8, 11, 65535)), (4, 1, (0, 1, 2, 7, 8, 12, 16, 17, 255))),  # length, precision
    *((5, 2, SIDE), (7, 2, SIDE), (9, 1, (0, 1, 2, 3, 4, 255))),  # lines, samples, components
    *((11, 1, (0, 0x11, 0x22, 0x44, 0xFF, 0x12)), (12, 1, (0, 3, 4, 255))),  # sampling, table
)
SOS = (
    *((2, 2, (0, 6, 65535)), (4, 1, (0, 1, 2, 3, 4, 255)), (5, 1, (0, 1, 4, 255))),
    *((6, 1, (0, 0x11, 0xFF)), (7, 1, (0, 1, 2, 3, 255)), (8, 1, (0, 1, 2, 3, 255))),  # NEAR, ILV
)
RLE = (
    (0, 4, (0, 1, 2, 3, 4, 8, 15, 16, 255, 0xFFFFFFFF)),  # segment count
    *((4 * i, 4, (0, 1, 63, 64, 65, 0x10000, 0xFFFFFFFF)) for i in range(1, 16)),  # offsets
)
Fields = dict[str, tuple[tuple[int, int, tuple[int, ...]], ...]]
# header kind -> fields as (offset from the marker, size in bytes, hostile values)
FIELDS: Fields = {"siz": SIZ, "cod": COD, "sof": SOF, "sos": SOS, "rle": RLE}


def find_headers(data: bytes) -> list[tuple[str, int]]:
    """The codestream headers in ``data`` as (kind, offset of the marker)."""
    found: list[tuple[str, int]] = []
    if data[:2] == b"\xff\x4f":
        found += [(k, data.find(m)) for k, m in (("siz", b"\xff\x51"), ("cod", b"\xff\x52"))]
    if data[:2] == b"\xff\xd8":
        sof = next((i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] in _SOF), -1)
        found += [("sof", sof), ("sof", data.find(b"\xff\xf7")), ("sos", data.find(b"\xff\xda"))]
    if len(data) >= 64 and int.from_bytes(data[:4], "little") <= 15:
        found.append(("rle", 0))
    return [(kind, at) for kind, at in found if at >= 0]


def _fragments(layout: Layout) -> list[Node]:
    return [n for n in layout.nodes if n.kind == "fragment"]


def _item(value: bytes, little: bool, tag: int = ITEM) -> bytes:
    return pack(tag >> 16, 2, little) + pack(tag & 0xFFFF, 2, little) + pack(len(value), 4, little)


def _replace(layout: Layout, node: Node, data: bytes) -> Doc:
    return splice(
        layout.doc, node.start, node.end - node.start, data, node.containers, in_meta=False
    )


def _value(layout: Layout, node: Node) -> bytes:
    return layout.doc.plain[node.value_at : node.value_at + (node.length or 0)]


@dataclass(frozen=True, slots=True)
class _Pixels:
    """The fragments of a document's Pixel Data and one frame fragment picked to damage."""

    layout: Layout
    table: Node
    frames: list[Node]
    frame: Node
    data: bytes

    @property
    def little(self) -> bool:
        return self.table.little


def _offset(px: _Pixels, rnd: random.Random) -> Doc | None:
    """One Basic Offset Table entry set to a hostile value."""
    count = (px.table.length or 0) // 4
    if not count:
        return _table(px, rnd)
    at = px.table.value_at + 4 * rnd.randrange(count)
    value = rnd.choice([0, 1, 2, 3, 7, 8, len(px.data), 0x7FFFFFFF, 0xFFFFFFFF])
    return overwrite(px.layout.doc, at, pack(value, 4, px.little))


def _table(px: _Pixels, rnd: random.Random) -> Doc | None:
    """A new Basic Offset Table: too few or too many entries, some of them wrong."""
    starts = [f.start - px.frames[0].start for f in px.frames]
    count = rnd.choice([1, 2, len(px.frames) - 1, len(px.frames) + 1, 100])
    entries = [rnd.choice([*starts, 0xFFFFFFFF, 1, 3]) for _ in range(max(count, 0))]
    value = b"".join(pack(e, 4, px.little) for e in entries) + b"\0" * rnd.choice([0, 0, 1, 2])
    return _replace(px.layout, px.table, _item(value, px.little) + value)


def _tag(px: _Pixels, rnd: random.Random) -> Doc | None:
    """A fragment's item tag replaced by a delimiter or another tag."""
    tag = rnd.choice([ITEM_END, SEQUENCE_END, 0, 0xFFFEE001, PIXEL_DATA])
    return overwrite(px.layout.doc, px.frame.start, _item(b"", px.little, tag)[:4])


def _delimiter(px: _Pixels, rnd: random.Random) -> Doc | None:
    """The Sequence Delimitation Item removed, or given a length."""
    ends = [n for n in px.layout.nodes if n.kind == "delimiter" and n.tag == SEQUENCE_END]
    ends = [n for n in ends if n.start >= px.frames[-1].start]
    if not ends:
        return None
    doc = px.layout.doc
    if rnd.random() < 0.5:
        return overwrite(doc, ends[-1].length_at, pack(rnd.choice([1, 8, UNDEFINED]), 4, px.little))
    return doc.with_plain(doc.plain[: ends[-1].start] + doc.plain[ends[-1].end :])


def _split(px: _Pixels, rnd: random.Random) -> Doc | None:
    """A frame's fragment split in two (the offset table left as it was)."""
    if len(px.data) < 2:
        return None
    k = rnd.randint(1, len(px.data) - 1)
    head, tail = px.data[:k], px.data[k:]
    return _replace(
        px.layout, px.frame, _item(head, px.little) + head + _item(tail, px.little) + tail
    )


def _drop(px: _Pixels, rnd: random.Random) -> Doc | None:
    """A fragment removed."""
    return _replace(px.layout, px.frame, b"")


def _add(px: _Pixels, rnd: random.Random) -> Doc | None:
    """An empty, one-byte or marker-only fragment added after a frame's."""
    extra = rnd.choice([b"", b"\x00", b"\xff\xd9", b"\xff\x4f\xff\x51"])
    item = _item(extra, px.little) + extra
    return splice(px.layout.doc, px.frame.end, 0, item, px.frame.containers, in_meta=False)


def _cut(px: _Pixels, rnd: random.Random) -> Doc | None:
    """A fragment shortened, its length consistent."""
    k = rnd.choice([0, 1, len(px.data) // 2, max(len(px.data) - 1, 0)])
    return _replace(px.layout, px.frame, _item(px.data[:k], px.little) + px.data[:k])


def _noise(px: _Pixels, rnd: random.Random) -> Doc | None:
    """A few bytes of a fragment's codestream overwritten."""
    buf = bytearray(px.data)
    for _ in range(rnd.randint(1, 8)):
        if buf:
            buf[rnd.randrange(len(buf))] = rnd.getrandbits(8)
    return overwrite(px.layout.doc, px.frame.value_at, bytes(buf))


FRAGMENT_OPS = (_offset, _table, _tag, _delimiter, _split, _drop, _add, _cut, _noise)


def mutate_fragments(layout: Layout, rnd: random.Random) -> Doc | None:
    """A Basic Offset Table entry, a fragment's tag, length or bytes, or the delimiter, damaged."""
    fragments = _fragments(layout)
    if not fragments:
        return None
    frames = fragments[1:] or fragments
    frame = rnd.choice(frames)
    px = _Pixels(layout, fragments[0], frames, frame, _value(layout, frame))
    return rnd.choice(FRAGMENT_OPS)(px, rnd)


def mutate_codestream(layout: Layout, rnd: random.Random) -> Doc | None:
    """One field of a codestream header (SIZ, COD, SOF, SOS, RLE) set to a hostile value."""
    found = [
        (f, kind, at) for f in _fragments(layout) for kind, at in find_headers(_value(layout, f))
    ]
    if not found:
        return None
    fragment, kind, at = rnd.choice(found)
    if kind == "rle" and rnd.random() < 0.25:  # a run that writes far more than fits
        segment = int.from_bytes(_value(layout, fragment)[4:8], "little")
        run = rnd.choice([b"\x81\x00", b"\x7f" + b"\x01" * 4, b"\x80"]) * rnd.randint(1, 64)
        return overwrite(layout.doc, fragment.value_at + segment, run)
    offset, size, values = rnd.choice(FIELDS[kind])
    value = rnd.choice((*values, rnd.getrandbits(8 * size)))
    return overwrite(layout.doc, fragment.value_at + at + offset, pack(value, size, kind == "rle"))


def _dimension_fields(kind: str, rows: int, columns: int) -> list[tuple[int, bytes]]:
    if kind == "siz":
        return [
            (6, pack(columns, 4, False)),
            (10, pack(rows, 4, False)),
            (22, pack(columns, 4, False)),
            (26, pack(rows, 4, False)),
        ]
    if kind == "sof":
        return [(5, pack(rows, 2, False)), (7, pack(columns, 2, False))]
    return []


def mutate_bomb(layout: Layout, rnd: random.Random) -> Doc | None:
    """Rows and Columns past the limits in the dataset and codestream alike, or a deflate bomb."""
    if rnd.random() < 0.2:
        doc = set_element(layout, 0x00020010, b"UI", value_bytes(b"UI", DEFLATED, True))
        return Doc(doc.plain[: doc.body_at] + _deflate_bomb(), doc.body_at)
    rows = rnd.choice([30000, 60000, 65535])
    return _big(layout, rnd, rows, rnd.choice([rows, rows // 2]))


def mutate_big(layout: Layout, rnd: random.Random) -> Doc | None:
    """Rows and Columns large but within the limits: what a small codestream can cost a decoder."""
    rows = rnd.choice([2048, 4096, 8000, 30000])
    return _big(layout, rnd, rows, rnd.choice([rows, 1, 64]))


def _big(layout: Layout, rnd: random.Random, rows: int, columns: int) -> Doc:
    doc = set_element(layout, 0x00280010, b"US", value_bytes(b"US", rows, layout.little))
    doc = set_element(walk(doc), 0x00280011, b"US", value_bytes(b"US", columns, layout.little))
    if rnd.random() < 0.3:
        frames = rnd.choice(["1000", "100000"])
        doc = set_element(walk(doc), 0x00280008, b"IS", value_bytes(b"IS", frames, True))
    layout = walk(doc)
    for fragment in _fragments(layout):
        for kind, at in find_headers(_value(layout, fragment)):
            for offset, data in _dimension_fields(kind, rows, columns):
                doc = overwrite(doc, fragment.value_at + at + offset, data)
    return doc


@functools.cache
def _deflate_bomb() -> bytes:
    """Raw deflate of an OB element that claims 3 GiB, then 12 MiB of zeros (past FUZZ_LIMITS)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = encode_element(0x00091010, b"OB", b"", little=True, explicit=True)
    out = [packer.compress(head[:-4] + pack(3 << 30, 4, True))]
    zeros = bytes(1 << 20)
    out += [packer.compress(zeros) for _ in range(12)]
    return b"".join(out) + packer.flush()
