"""frames(): the frames of many files as one lazy Dask array, decoded where it is computed.

Building the array reads headers only (:mod:`dicomframe.dask.layout`). Each
chunk of the array is one task: it opens the files its frames come from on
the worker that runs it, decodes just those frames through the codec
registry (``ds.pixel_data[i].decode()``), and returns them stacked. Nothing
but paths and a few numbers travels to a worker, and only the pixels come
back, so a cluster decodes a cohort without the client ever holding a
frame it does not compute.

A chunk may span files (``chunks=3`` over single-frame files puts three
files in each task), so small files do not make one task each.

Values: ``display=False, modality=False`` gives the stored values in the
dtype the headers call for, exactly what ``dcf.read(path).pixel_array``
gives. ``modality=True`` gives float64 modality values
(:func:`~dicomframe.rendering.apply_modality_lut`, e.g. Hounsfield units);
``display=True`` float64 VOI values (the Modality LUT, then
:func:`~dicomframe.rendering.apply_voi_lut`: a window onto the modality
values' range, or a VOI LUT's entries). Both use each frame's own functional
groups in enhanced multi-frame files. Colour frames are not transformed
(only cast to float64), and MONOCHROME1 is not inverted, as in
:mod:`dicomframe.rendering`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from dicomframe.core.reader import read
from dicomframe.dask.layout import FileFrames, PathOrUrl, scan
from dicomframe.errors import require
from dicomframe.rendering.apply import apply_modality_lut, apply_voi_lut

__all__ = ["frames"]

Piece = tuple[str, int, int]  # path, first frame, frame after the last
_MONOCHROME = ("MONOCHROME1", "MONOCHROME2")
_PHOTOMETRIC = 0x00280004


def frames(
    paths_or_urls: PathOrUrl | Iterable[PathOrUrl],
    *,
    chunks: int = 1,
    display: bool = False,
    modality: bool = False,
    **options: Any,
) -> Any:
    """Every frame of the files as one Dask array ``(frames, rows, columns[, samples])``.

    Parameters
    ----------
    paths_or_urls
        A path or URL, or many, read with :func:`dicomframe.read`; their
        frames follow each other in the order given. All must have frames
        of one shape (and, for stored values, one dtype).
    chunks
        Frames per chunk (per task); a chunk may take frames from several files.
    display
        float64 VOI values (Modality LUT, then VOI LUT or window) instead of
        stored values.
    modality
        float64 modality values (Modality LUT or rescale) instead of stored values.
    **options
        For each frame's decoding: ``codec=``, ``prefer=``, ``block=``.

    Returns
    -------
    dask.array.Array
        Stored values in the headers' dtype, or float64 with ``display`` or
        ``modality``. Nothing is read or decoded until it is computed.

    Raises
    ------
    ValueError
        When no file is given, ``chunks`` is below 1, or a file's frames
        differ from the first file's (the message names it).
    """
    require("dask.array", "dicomframe.dask.frames", "distributed")  # or a clear error
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    if isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 1:
        raise ValueError(f"chunks must be an int >= 1, not {chunks!r}")
    paths: list[PathOrUrl] = (
        [paths_or_urls] if isinstance(paths_or_urls, str | os.PathLike) else list(paths_or_urls)
    )
    mode = "display" if display else "modality" if modality else "stored"
    files = scan(paths, same_dtype=mode == "stored")
    first = files[0]
    dtype = first.dtype if mode == "stored" else np.dtype(np.float64)
    pieces = _chunk_pieces(files, chunks)
    name = "dicomframe-frames-" + tokenize(
        [(f.path, f.count) for f in files], chunks, mode, sorted(options.items())
    )
    layer: dict[Any, Any] = {
        (name, number, *(0 for _ in first.shape)): (
            _load_chunk,
            chunk,
            first.shape,
            dtype.str,
            mode,
            options,
        )
        for number, chunk in enumerate(pieces)
    }
    graph = HighLevelGraph.from_collections(name, layer, dependencies=())
    sizes = tuple(sum(stop - start for _, start, stop in chunk) for chunk in pieces)
    chunk_sizes = (sizes, *((n,) for n in first.shape))
    return da.Array(graph, name, chunk_sizes, dtype=dtype)  # type: ignore[no-untyped-call]


def _chunk_pieces(files: Sequence[FileFrames], size: int) -> list[tuple[Piece, ...]]:
    """Cut the frames of ``files``, in order, into chunks of ``size`` (the last may be short)."""
    chunks: list[tuple[Piece, ...]] = []
    current: list[Piece] = []
    filled = 0
    for file in files:
        start = 0
        while start < file.count:
            stop = min(file.count, start + size - filled)
            current.append((file.path, start, stop))
            filled += stop - start
            start = stop
            if filled == size:
                chunks.append(tuple(current))
                current, filled = [], 0
    if current:
        chunks.append(tuple(current))
    return chunks


def _load_chunk(
    pieces: tuple[Piece, ...],
    shape: tuple[int, ...],
    dtype: str,
    mode: str,
    options: dict[str, Any],
) -> np.ndarray[Any, Any]:
    """One chunk, on the worker that computes it: open each file, decode just its frames."""
    count = sum(stop - start for _, start, stop in pieces)
    out = np.empty((count, *shape), dtype=np.dtype(dtype))
    row = 0
    for path, start, stop in pieces:
        with read(path) as ds:
            pixels = ds.pixel_data
            for index in range(start, stop):
                values = pixels[index].decode(**options).array
                if values.shape != shape:
                    raise ValueError(
                        f"{path}: frame {index} decodes to shape {values.shape}, "
                        f"its header says {shape}"
                    )
                out[row] = values if mode == "stored" else _transformed(values, ds, index, mode)
                row += 1
    return out


def _transformed(values: np.ndarray[Any, Any], ds: Any, index: int, mode: str) -> Any:
    """Modality (and for ``display`` VOI) values of frame ``index``, as float64."""
    if values.ndim == 3:  # colour: no Modality or VOI LUT applies (PS3.3 C.11)
        return values.astype(np.float64)
    result = apply_modality_lut(values, ds, frame=index)
    photometric = str(ds.get(_PHOTOMETRIC) or "MONOCHROME2").strip()
    if mode == "display" and photometric in _MONOCHROME:
        result = apply_voi_lut(result, ds, frame=index)
    return np.asarray(result, dtype=np.float64)
