"""The codecs a dispatch tries, in order, worked out once per registry snapshot and choice.

Every frame of a file asks the manager the same question (this syntax, this
direction, the same named, preferred and blocked codecs), and sorting the
registry for each one was a tenth of the dispatch's own time. :class:`Orders`
keeps each answer for the registry snapshot it was worked out on: a plugin
registered later makes a new snapshot, and the kept orders are dropped.
"""

from __future__ import annotations

import threading

from dicomframe.plugins import dispatch
from dicomframe.plugins.codec import Codec

__all__ = ["OrderKey", "Orders", "Snapshot"]

# (syntax UID, encoding, the named codec, the preferred names, the blocked names)
OrderKey = tuple[str, bool, str | None, tuple[str, ...], frozenset[str]]
Snapshot = tuple[tuple[Codec, str], ...]  # the registry's codecs and their plugins
_KEPT = 256  # distinct orders kept before starting again


class Orders:
    """Candidate orders, and the blocked names they go with, for one registry snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[OrderKey, tuple[list[Codec], frozenset[str]]] = {}
        self._of: Snapshot | None = None

    def get(self, snapshot: Snapshot, key: OrderKey) -> tuple[list[Codec], frozenset[str]]:
        """The candidates of ``key`` in order, and the blocked names and blocked plugins' codecs.

        The list is shared by every call that asks the same: not to be changed.
        """
        found = self._kept.get(key) if self._of is snapshot else None
        if found is not None:
            return found
        uid, encoding, named, preferred, blocked = key
        every = blocked | {codec.name for codec, plugin in snapshot if plugin in blocked}
        candidates = dispatch.order(
            (c for c, _ in snapshot), uid, encoding=encoding, codec=named, prefer=preferred
        )
        with self._lock:
            if self._of is not snapshot or len(self._kept) > _KEPT:
                self._kept, self._of = {}, snapshot
            self._kept[key] = (candidates, every)
        return candidates, every
