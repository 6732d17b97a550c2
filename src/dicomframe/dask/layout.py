"""What a stack of files holds, from their headers: how many frames, of what shape and dtype.

:func:`dicomframe.dask.frames` must know the shape and dtype of the whole
array before any pixel is read, since that is what a Dask array is. The
headers say it: each file is read up to its Pixel Data
(``stop_before_pixels=True``), its Image Pixel attributes become a
:class:`~dicomframe.core.frame_info.FrameInfo`, and every file must agree
with the first. A file that does not (another size, sample count or
dtype) is refused with a ValueError naming it, since a stack of mixed
series is almost always a mistake and could only be padded or cast.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from dicomframe.core.frame_info import FrameInfo
from dicomframe.core.reader import read

__all__ = ["FileFrames", "frame_shape", "scan"]

PathOrUrl = str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class FileFrames:
    """One file of the stack: where it is, how many frames it has, their shape and dtype."""

    path: str
    count: int
    shape: tuple[int, ...]
    dtype: np.dtype[Any]


def frame_shape(info: FrameInfo) -> tuple[int, ...]:
    """The shape of one decoded frame's array: YBR_FULL_422 native data gives 3 samples."""
    if info.is_subsampled:
        return (info.rows, info.columns, 3)
    return info.shape


def scan(paths: Iterable[PathOrUrl], *, same_dtype: bool = True) -> list[FileFrames]:
    """Each file's frames from its header, checked to agree with the first file.

    Raises
    ------
    ValueError
        When no file is given, or a file's frames differ from the first
        file's in shape or (with ``same_dtype``) in dtype; the message names
        both files.
    InvalidDicomError
        When a header lacks the Image Pixel attributes.
    """
    found: list[FileFrames] = []
    for path in paths:
        name = os.fspath(path)
        with read(name, stop_before_pixels=True) as ds:
            info = FrameInfo.from_dataset(ds)
        here = FileFrames(name, info.number_of_frames, frame_shape(info), info.dtype)
        if found:
            _check_agrees(found[0], here, same_dtype=same_dtype)
        found.append(here)
    if not found:
        raise ValueError("no files given: frames() needs at least one")
    return found


def _check_agrees(first: FileFrames, other: FileFrames, *, same_dtype: bool) -> None:
    if other.shape != first.shape or (same_dtype and other.dtype != first.dtype):
        raise ValueError(
            f"{other.path}: frames of shape {other.shape} and dtype {other.dtype}, but "
            f"{first.path} has {first.shape} {first.dtype}; frames() stacks one series "
            "(files of one frame shape and dtype)"
        )
