"""Shrink a crashing input to what still crashes, element by element.

Greedy and structure-aware: whole elements, items and fragments are removed
(their enclosing lengths kept consistent), long values shortened, and the
tail cut, as long as the predicate (usually "the same escape still
happens") holds. A deflated dataset is edited inflated and deflated again.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.fuzz.edits import pack, splice
from tests.fuzz.layout import PIXEL_DATA, Doc, Layout, Node, doc_from_bytes, walk

__all__ = ["minimise"]

Predicate = Callable[[bytes], bool]


class _Budget:
    def __init__(self, tries: int) -> None:
        self.left = tries

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0


def _removable(layout: Layout) -> list[Node]:
    """Elements, items and fragments other than the meta group, biggest first."""
    nodes = [n for n in layout.nodes if n.kind != "delimiter" and n.parent != -2]
    return sorted(nodes, key=lambda n: n.end - n.start, reverse=True)


def _without(doc: Doc, node: Node) -> Doc:
    return splice(doc, node.start, node.end - node.start, b"", node.containers, in_meta=False)


def _shortened(doc: Doc, node: Node) -> Doc | None:
    """The element with its value cut to half (a long, non-pixel value), lengths consistent."""
    if node.kind != "element" or node.length is None or node.length < 64 or node.tag == PIXEL_DATA:
        return None
    keep = node.length // 2 & ~1
    header = doc.plain[node.start : node.length_at] + pack(keep, node.length_size, node.little)
    header += doc.plain[node.length_at + node.length_size : node.value_at]
    value = doc.plain[node.value_at : node.value_at + keep]
    return splice(
        doc, node.start, node.end - node.start, header + value, node.containers, in_meta=False
    )


def _one_pass(doc: Doc, still_fails: Predicate, budget: _Budget) -> Doc | None:
    """The first smaller document that still fails, or None."""
    for node in _removable(walk(doc)):
        for candidate in (_without(doc, node), _shortened(doc, node)):
            if candidate is None or len(candidate.plain) >= len(doc.plain):
                continue
            if not budget.spend():
                return None
            if still_fails(candidate.encode()):
                return candidate
    return None


def _cut_tail(data: bytes, still_fails: Predicate, budget: _Budget) -> bytes:
    """The shortest prefix that still fails, by halving the part cut off."""
    step = len(data) // 2
    while step >= 1 and budget.spend():
        if still_fails(data[: len(data) - step]):
            data = data[: len(data) - step]
        else:
            step //= 2
    return data


def minimise(data: bytes, still_fails: Predicate, *, tries: int = 400) -> bytes:
    """A smaller input for which ``still_fails`` holds (``data`` itself when none is found)."""
    budget = _Budget(tries)
    doc = doc_from_bytes(data)
    if not still_fails(doc.encode()):  # the round trip through the layout changed it
        doc = Doc(data, doc.body_at)
    while (smaller := _one_pass(doc, still_fails, budget)) is not None:
        doc = smaller
    return _cut_tail(doc.encode(), still_fails, budget)
