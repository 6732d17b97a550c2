"""Edits that keep a document consistent: a splice fixes every defined length around it.

Mutators change one thing on purpose; these helpers make sure that is the
only thing changed. Inserting or removing bytes inside a defined-length
sequence, item or meta group updates those lengths, so the reader meets the
intended damage and not a cascade of unrelated overruns.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from tests.fuzz.layout import LONG_VRS, UNDEFINED, Doc, Layout, Node

__all__ = [
    "containers_of",
    "encode_element",
    "insert_sorted",
    "overwrite",
    "pack",
    "set_element",
    "splice",
    "value_bytes",
]

Containers = Iterable[tuple[int, bool]]


def pack(value: int, size: int, little: bool) -> bytes:
    """``value`` (taken modulo 2**(8*size)) as an unsigned integer of ``size`` bytes."""
    value &= (1 << (8 * size)) - 1
    return value.to_bytes(size, "little" if little else "big")


def overwrite(doc: Doc, at: int, data: bytes) -> Doc:
    """``data`` written over the bytes at ``at`` (clipped to the end of the document)."""
    plain = doc.plain
    if at >= len(plain):
        return doc
    data = data[: len(plain) - at]
    return doc.with_plain(plain[:at] + data + plain[at + len(data) :])


def splice(
    doc: Doc, at: int, remove: int, insert: bytes, containers: Containers, *, in_meta: bool
) -> Doc:
    """Replace ``remove`` bytes at ``at`` by ``insert`` and fix the enclosing defined lengths."""
    buf = bytearray(doc.plain)
    delta = len(insert) - remove
    for length_at, little in containers:
        if length_at + 4 > len(buf):
            continue
        old = int.from_bytes(buf[length_at : length_at + 4], "little" if little else "big")
        if old != UNDEFINED:
            buf[length_at : length_at + 4] = pack(old + delta, 4, little)
    buf[at : at + remove] = insert
    body_at = doc.body_at + delta if in_meta or at < doc.body_at else doc.body_at
    return doc.with_plain(bytes(buf), min(max(body_at, 0), len(buf)))


def encode_element(tag: int, vr: bytes, value: bytes, *, little: bool, explicit: bool) -> bytes:
    """One element in the given encoding; a value too long for a short VR is cut to fit."""
    head = pack(tag >> 16, 2, little) + pack(tag & 0xFFFF, 2, little)
    if not explicit:
        return head + pack(len(value), 4, little) + value
    if vr in LONG_VRS:
        return head + vr + b"\0\0" + pack(len(value), 4, little) + value
    value = value[:0xFFFE]
    return head + vr + pack(len(value), 2, little) + value


def containers_of(layout: Layout, parent: int) -> tuple[tuple[int, bool], ...]:
    """The defined lengths that enclose a child of ``parent`` (its own and its ancestors')."""
    if parent == -1:
        return ()
    if parent == -2:
        group = layout.find(0x00020000)
        return ((group.value_at, True),) if group is not None and group.length == 4 else ()
    owner = next(n for n in layout.nodes if n.start == parent and n.kind != "delimiter")
    own = () if owner.length is None else ((owner.length_at, owner.little),)
    return owner.containers + own


def insert_sorted(layout: Layout, parent: int, tag: int, element: bytes) -> Doc:
    """``element`` inserted among the children of ``parent`` in tag order."""
    siblings = [n for n in layout.children(parent) if n.kind == "element"]
    later = [n for n in siblings if n.tag > tag]
    if later:
        at = later[0].start
    elif siblings:
        at = siblings[-1].end
    elif parent in (-1, -2):
        at = layout.doc.body_at
    else:
        owner = next(n for n in layout.nodes if n.start == parent)
        at = owner.value_at
    ctr = containers_of(layout, parent)
    return splice(layout.doc, at, 0, element, ctr, in_meta=parent == -2)


def set_element(layout: Layout, tag: int, vr: bytes, value: bytes, *, parent: int = -1) -> Doc:
    """Give element ``tag`` the value ``value``: replaced where it is, else inserted in order."""
    in_meta = tag >> 16 == 0x0002
    parent = -2 if in_meta else parent
    little, explicit = (True, True) if in_meta else (layout.little, layout.explicit)
    element = encode_element(tag, vr, value, little=little, explicit=explicit)
    node = _child(layout, parent, tag)
    if node is None:
        return insert_sorted(layout, parent, tag, element)
    return splice(
        layout.doc, node.start, node.end - node.start, element, node.containers, in_meta=in_meta
    )


def _child(layout: Layout, parent: int, tag: int) -> Node | None:
    return next((n for n in layout.children(parent) if n.tag == tag and n.kind == "element"), None)


def value_bytes(vr: bytes, value: object, little: bool) -> bytes:
    """A Python value encoded for ``vr``: ints for US/SS/UL, text for strings, bytes as is."""
    if isinstance(value, bytes):
        return value
    if vr in (b"US", b"SS", b"UL", b"SL"):
        numbers = value if isinstance(value, tuple) else (value,)
        code = {b"US": "H", b"SS": "h", b"UL": "L", b"SL": "l"}[vr]
        fmt = ("<" if little else ">") + code * len(numbers)
        return struct.pack(fmt, *(_fit(n, code) for n in numbers))
    text = str(value).encode("latin-1")
    if len(text) % 2:
        text += b"\0" if vr == b"UI" else b" "
    return text


def _fit(number: object, code: str) -> int:
    """``number`` wrapped into the range of the struct code (a hostile value stays hostile)."""
    n = int(number)  # type: ignore[call-overload]
    bits = 16 if code in "Hh" else 32
    n &= (1 << bits) - 1
    if code.islower() and n >= 1 << (bits - 1):
        n -= 1 << bits
    return n
