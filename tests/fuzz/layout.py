"""Where each element, item and fragment of a DICOM file lies, found without dicomframe's reader.

The walker is deliberately independent of the reader it helps to test, and
forgiving: it maps as much of a file as it can and stops quietly at the
first thing it cannot follow, so it also maps files that earlier mutations
have damaged. A :class:`Doc` keeps a deflated dataset inflated, so that
mutations see (and keep consistent) its structure; :meth:`Doc.encode`
deflates it again.
"""

from __future__ import annotations

import contextlib
import struct
import zlib
from dataclasses import dataclass, replace

from dicomframe.core.dictionary import vr_for

__all__ = [
    "DEFLATED",
    "LONG_VRS",
    "UNDEFINED",
    "Doc",
    "Layout",
    "Node",
    "doc_from_bytes",
    "walk",
]

UNDEFINED = 0xFFFFFFFF
LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
DEFLATED = "1.2.840.10008.1.2.1.99"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010
TRANSFER_SYNTAX_UID = 0x00020010
_MAX_NODES = 6000
_MAX_DEPTH = 48


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


@dataclass(frozen=True, slots=True)
class Doc:
    """A file as the mutators see it: the dataset after ``body_at``, inflated when ``deflated``."""

    plain: bytes
    body_at: int
    deflated: bool = False

    def encode(self) -> bytes:
        """The file's bytes: the dataset deflated again for a deflated document."""
        if not self.deflated:
            return self.plain
        return self.plain[: self.body_at] + _deflate(self.plain[self.body_at :])

    def with_plain(self, plain: bytes, body_at: int | None = None) -> Doc:
        """The same document with other bytes."""
        return replace(self, plain=plain, body_at=self.body_at if body_at is None else body_at)


@dataclass(frozen=True, slots=True)
class Node:
    """One element, item, fragment or delimiter, by the offsets of its parts."""

    kind: str  # "element", "item", "fragment" or "delimiter"
    tag: int
    start: int
    vr_at: int | None  # None for items, delimiters and Implicit VR
    length_at: int
    length_size: int  # 2 or 4
    value_at: int
    length: int | None  # None: undefined length
    end: int  # just past the value, or past the delimiter of an undefined length
    little: bool
    explicit: bool
    depth: int
    parent: int  # start of the enclosing item or element; -1 the dataset, -2 the meta group
    containers: tuple[tuple[int, bool], ...]  # (length field, little endian) of enclosing lengths


@dataclass(frozen=True, slots=True)
class Layout:
    """A document and the nodes the walker found in it, in file order."""

    doc: Doc
    nodes: tuple[Node, ...]
    syntax: str
    little: bool
    explicit: bool

    def vr_of(self, node: Node) -> bytes | None:
        """The VR as written (Explicit VR) or from the data dictionary (Implicit VR)."""
        if node.vr_at is not None:
            return self.doc.plain[node.vr_at : node.vr_at + 2]
        if node.kind != "element":
            return None
        return vr_for(node.tag).split(" ")[0].encode()

    def children(self, parent: int) -> list[Node]:
        """The nodes directly inside ``parent`` (-1: the dataset, -2: the meta group)."""
        return [n for n in self.nodes if n.parent == parent]

    def find(self, tag: int) -> Node | None:
        """The first element with ``tag``, at any depth."""
        return next((n for n in self.nodes if n.tag == tag and n.kind == "element"), None)


class _StopError(Exception):
    """The walker can follow the bytes no further."""


class _Walker:
    def __init__(self, buf: bytes, *, little: bool, explicit: bool) -> None:
        self.buf = buf
        self.little = little
        self.explicit = explicit
        self.nodes: list[Node] = []

    def _u16(self, pos: int) -> int:
        if pos < 0 or pos + 2 > len(self.buf):
            raise _StopError
        return int(struct.unpack_from("<H" if self.little else ">H", self.buf, pos)[0])

    def _u32(self, pos: int) -> int:
        if pos < 0 or pos + 4 > len(self.buf):
            raise _StopError
        return int(struct.unpack_from("<L" if self.little else ">L", self.buf, pos)[0])

    def _tag(self, pos: int) -> int:
        return (self._u16(pos) << 16) | self._u16(pos + 2)

    def _add(self, node: Node) -> None:
        if len(self.nodes) >= _MAX_NODES:
            raise _StopError
        self.nodes.append(node)

    def dataset(self, pos: int, end: int | None, parent: int, depth: int, ctr: tuple) -> int:
        """Walk elements from ``pos`` to ``end`` (None: up to an item delimiter); return the end."""
        limit = len(self.buf) if end is None else min(end, len(self.buf))
        while pos + 8 <= limit:
            tag = self._tag(pos)
            if tag == ITEM_END and end is None:
                self._add(self._bare("delimiter", tag, pos, parent, depth, ctr))
                return pos + 8
            if tag >> 16 == 0xFFFE:
                raise _StopError  # an item or sequence end where an element belongs
            pos = self.element(pos, parent, depth, ctr)
        return pos

    def _bare(self, kind: str, tag: int, pos: int, parent: int, depth: int, ctr: tuple) -> Node:
        length = self._u32(pos + 4)
        size = None if length == UNDEFINED else length
        end = pos + 8 + (size or 0)
        return self._node(
            kind,
            tag,
            pos,
            length_at=pos + 4,
            size=4,
            length=size,
            end=end,
            parent=parent,
            depth=depth,
            ctr=ctr,
        )

    def _node(
        self,
        kind: str,
        tag: int,
        start: int,
        *,
        vr_at: int | None = None,
        length_at: int,
        size: int,
        length: int | None,
        end: int,
        parent: int,
        depth: int,
        ctr: tuple[tuple[int, bool], ...],
    ) -> Node:
        """A node in the walker's current encoding; its value starts after the length field."""
        return Node(
            kind=kind,
            tag=tag,
            start=start,
            vr_at=vr_at,
            length_at=length_at,
            length_size=size,
            value_at=length_at + size,
            length=length,
            end=end,
            little=self.little,
            explicit=self.explicit,
            depth=depth,
            parent=parent,
            containers=ctr,
        )

    def element(self, pos: int, parent: int, depth: int, ctr: tuple) -> int:
        tag = self._tag(pos)
        vr_at: int | None = None
        if self.explicit:
            vr = self.buf[pos + 4 : pos + 6]
            if not (len(vr) == 2 and vr.isalpha() and vr.isupper()):
                raise _StopError
            vr_at = pos + 4
            if vr in LONG_VRS:
                length_at, size, value_at = pos + 8, 4, pos + 12
                length = self._u32(length_at)
            else:
                length_at, size, value_at = pos + 6, 2, pos + 8
                length = self._u16(length_at)
        else:
            vr = vr_for(tag).split(" ")[0].encode()
            length_at, size, value_at = pos + 4, 4, pos + 8
            length = self._u32(length_at)
        defined = not (size == 4 and length == UNDEFINED)
        index = len(self.nodes)
        self._add(
            self._node(
                "element",
                tag,
                pos,
                vr_at=vr_at,
                length_at=length_at,
                size=size,
                length=None,
                end=0,
                parent=parent,
                depth=depth,
                ctr=ctr,
            )
        )
        inner = (*ctr, (length_at, self.little)) if defined else ctr
        if tag == PIXEL_DATA and not defined:
            stop = self.items(value_at, None, pos, depth, inner, "fragment")
        elif vr == b"UN" and not defined:  # its items are Implicit VR Little Endian
            encoding, (self.little, self.explicit) = (self.little, self.explicit), (True, False)
            stop = self.items(value_at, None, pos, depth, inner)
            self.little, self.explicit = encoding
        elif vr == b"SQ":
            stop = self.items(value_at, value_at + length if defined else None, pos, depth, inner)
        elif defined:
            stop = value_at + length
        else:
            raise _StopError
        self.nodes[index] = replace(self.nodes[index], length=length if defined else None, end=stop)
        return stop

    def items(
        self, pos: int, end: int | None, parent: int, depth: int, ctr: tuple, kind: str = "item"
    ) -> int:
        """Walk the items of a sequence or the fragments of Pixel Data; return the end."""
        if depth >= _MAX_DEPTH:
            raise _StopError
        limit = len(self.buf) if end is None else min(end, len(self.buf))
        while pos + 8 <= limit:
            tag = self._tag(pos)
            if tag == SEQUENCE_END and end is None:
                self._add(self._bare("delimiter", tag, pos, parent, depth + 1, ctr))
                return pos + 8
            if tag != ITEM:
                raise _StopError
            node = self._bare(kind, tag, pos, parent, depth + 1, ctr)
            index = len(self.nodes)
            self._add(node)
            if kind == "fragment":
                if node.length is None:
                    raise _StopError
                pos = node.end
                continue
            inner = ctr if node.length is None else (*ctr, (node.length_at, self.little))
            item_end = None if node.length is None else node.end
            pos = self.dataset(pos + 8, item_end, pos, depth + 1, inner)
            if node.length is None:
                self.nodes[index] = replace(node, end=pos)
        return pos


def _meta(buf: bytes) -> tuple[int, str | None, list[Node]]:
    """Walk the file meta group; return where the dataset starts, its syntax and the nodes."""
    start = 132 if buf[128:132] == b"DICM" else 0
    walker = _Walker(buf, little=True, explicit=True)
    pos, ctr = start, ()
    try:
        while pos + 8 <= len(buf) and walker._tag(pos) >> 16 == 0x0002:
            pos = walker.element(pos, -2, 0, ctr)
            if walker.nodes[-1].tag == 0x00020000 and walker.nodes[-1].length == 4:
                ctr = ((walker.nodes[-1].value_at, True),)
    except _StopError:
        pass
    syntax = None
    for node in walker.nodes:
        if node.tag == TRANSFER_SYNTAX_UID and node.length is not None:
            syntax = buf[node.value_at : node.end].rstrip(b"\0 ").decode("latin-1")
    return pos, syntax, walker.nodes


def _encoding(syntax: str | None, buf: bytes, pos: int) -> tuple[bool, bool]:
    """(little endian, explicit VR) of the dataset."""
    if syntax == IMPLICIT_LE:
        return True, False
    if syntax == EXPLICIT_BE:
        return False, True
    if syntax is None:  # no meta: look at the first element, as a reader must
        return True, buf[pos + 4 : pos + 6] in LONG_VRS or buf[pos + 4 : pos + 6].isupper()
    return True, True


def doc_from_bytes(data: bytes) -> Doc:
    """A document for a file's bytes: the dataset of a deflated syntax inflated."""
    body_at, syntax, _ = _meta(data)
    body_at = min(body_at, len(data))  # a meta length may overrun the file
    if syntax == DEFLATED:
        try:
            body = zlib.decompressobj(-15).decompress(data[body_at:], 1 << 26)
        except zlib.error:
            return Doc(data, body_at)
        return Doc(data[:body_at] + body, body_at, deflated=True)
    return Doc(data, body_at)


def walk(doc: Doc) -> Layout:
    """Map ``doc``: its meta elements, then every element, item and fragment of the dataset."""
    buf = doc.plain
    _, syntax, nodes = _meta(buf)
    little, explicit = _encoding(syntax, buf, doc.body_at)
    walker = _Walker(buf, little=little, explicit=explicit)
    walker.nodes = nodes
    with contextlib.suppress(_StopError):
        walker.dataset(doc.body_at, len(buf), -1, 0, ())
    return Layout(doc, tuple(walker.nodes), syntax or "", little, explicit)
