"""Shared fixtures."""

from __future__ import annotations

import os
import tempfile

import pytest

from dicomframe.plugins import CodecManager

# The plugin scan cache goes to a directory of the test run's own, never the user's
# ~/.cache; child processes the tests start inherit it. tests/plugins gives each test
# its own on top of this.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="dicomframe-test-cache-")


@pytest.fixture
def manager() -> CodecManager:
    """A fresh, empty codec manager: tests register what they need, never a global."""
    return CodecManager(entry_points=False)
