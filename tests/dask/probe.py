"""A side channel from Dask workers: which process built which frames.

:func:`install` runs on each worker (``client.run``) and wraps
``PixelData.frame`` so every frame a worker builds is recorded with the
worker's process id; :func:`built` reads the record back.
"""

from __future__ import annotations

import os
from typing import Any

from dicomframe.core.pixel_data import PixelData

BUILT: list[tuple[int, int]] = []  # (process id, frame index)
_ORIGINAL = PixelData.frame


def _recording_frame(self: PixelData, index: int) -> Any:
    BUILT.append((os.getpid(), index))
    return _ORIGINAL(self, index)


def install() -> int:
    """Record frames built in this process from now on; returns the process id."""
    BUILT.clear()
    PixelData.frame = _recording_frame  # type: ignore[method-assign]
    return os.getpid()


def built() -> list[tuple[int, int]]:
    """The frames built since :func:`install`, with the process that built each."""
    return list(BUILT)
