"""Frames of many files as one Dask array, decoded on the workers that compute it.

``dicomframe.dask.frames(paths)`` reads headers only and returns a lazy
``dask.array.Array`` of shape ``(frames, rows, columns[, samples])``; each
chunk opens its files and decodes its frames where it is computed, on a
thread, a process or a ``distributed`` cluster alike. Dask is imported when
:func:`frames` runs, never by ``import dicomframe`` (this package is not
imported by it either). docs/dask.md is the user's page.
"""

from __future__ import annotations

from dicomframe.dask.frames import frames
from dicomframe.dask.layout import FileFrames, scan

__all__ = ["FileFrames", "frames", "scan"]
