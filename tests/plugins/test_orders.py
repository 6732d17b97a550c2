"""Candidate orders kept per registry snapshot and choice (``dicomframe.plugins.orders``)."""

from __future__ import annotations

import pytest

from dicomframe.plugins import CodecManager
from tests.plugins.fakes import PRIVATE, Plugin
from tests.plugins.test_dispatch import native, register, variant


def test_the_order_is_worked_out_once_per_registry_and_choice(
    manager: CodecManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every frame asks the same: the sorted candidates are kept until something changes."""
    from dicomframe.plugins import dispatch

    register(manager, variant("one", priority=5), variant("two"))
    encoded = manager.encode(native(), PRIVATE.uid)
    sorts: list[str] = []
    order = dispatch.order
    monkeypatch.setattr(dispatch, "order", lambda *a, **k: sorts.append(a[1]) or order(*a, **k))
    for _ in range(5):
        assert manager.decode_with(encoded)[1] == "one"
    assert len(sorts) == 1
    manager.block("one")  # another choice: worked out again
    assert manager.decode_with(encoded)[1] == "two"
    manager.unblock("one")
    assert manager.decode_with(encoded)[1] == "one"
    assert manager.decode_with(encoded, prefer=["two"])[1] == "two"
    assert len(sorts) == 3  # blocked, then preferred; unblocked is the first choice again
    manager.register(Plugin(variant("three", priority=9)), "later")  # a new registry snapshot
    assert manager.decode_with(encoded)[1] == "three"
    assert len(sorts) == 4
