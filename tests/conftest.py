"""Shared fixtures."""

from __future__ import annotations

import pytest

from dicomframe.plugins import CodecManager


@pytest.fixture
def manager() -> CodecManager:
    """A fresh, empty codec manager: tests register what they need, never a global."""
    return CodecManager(entry_points=False)
