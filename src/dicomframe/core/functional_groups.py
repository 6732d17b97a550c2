"""The functional groups of one frame of a multi-frame object (PS3.3 C.7.6.16).

An enhanced object describes frame ``i`` in two places: the Shared Functional
Groups Sequence (5200,9229), one item that applies to every frame, and item
``i`` of the Per-frame Functional Groups Sequence (5200,9230). A functional
group macro sits in one or the other, never both (C.7.6.16.1), so the frame's
description is the union of the two items. Readers of a slide with 50,000
tiles ask for one frame at a time: only the items asked for are parsed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dicomframe.errors import InvalidDicomError

if TYPE_CHECKING:
    from dicomframe.core.dataset import Dataset

__all__ = ["PER_FRAME", "SHARED", "frame_functional_groups"]

SHARED = 0x52009229
PER_FRAME = 0x52009230


def frame_functional_groups(ds: Dataset, index: int) -> Dataset:
    """The functional groups of frame ``index`` (0-based, as ``ds.pixel_data[index]``).

    Parameters
    ----------
    ds : Dataset
        A multi-frame dataset with functional groups.
    index : int
        The frame, counted from 0; negative counts from the last frame.

    Returns
    -------
    Dataset
        A new dataset holding the shared item's elements and then the
        per-frame item's, per-frame ones replacing shared ones of the same
        tag. The elements themselves are those of ``ds``'s items, not copies:
        changing a value changes it in ``ds``; adding or removing elements of
        the result does not.

    Raises
    ------
    KeyError
        If ``ds`` has neither functional group sequence.
    IndexError
        If ``index`` is not a frame of ``ds`` (Number of Frames, else the
        number of per-frame items).
    InvalidDicomError
        If the per-frame sequence has fewer items than Number of Frames, or
        the shared sequence does not hold exactly one item.
    """
    from dicomframe.core.dataset import Dataset

    shared = ds.get(SHARED)
    per_frame = ds.get(PER_FRAME)
    if shared is None and per_frame is None:
        raise KeyError("no Shared (5200,9229) or Per-frame (5200,9230) Functional Groups Sequence")
    frames = _frame_count(ds, per_frame)
    position = index + frames if index < 0 else index
    if not 0 <= position < frames:
        raise IndexError(f"frame {index} out of range: the dataset has {frames} frames")
    result = Dataset()
    if shared is not None:
        if len(shared) != 1:
            raise _invalid(ds, SHARED, f"holds {len(shared)} items, where PS3.3 allows one")
        for element in shared[0]:
            result.add(element)
    if per_frame is not None:
        if position >= len(per_frame):
            found = f"holds {len(per_frame)} items for {frames} frames"
            raise _invalid(ds, PER_FRAME, found)
        for element in per_frame[position]:
            result.add(element)
    return result


def _frame_count(ds: Dataset, per_frame: object) -> int:
    number = ds.get(0x00280008)
    if number is not None:
        try:
            return int(number)
        except (TypeError, ValueError):
            raise _invalid(ds, 0x00280008, f"is not a number: {number!r}") from None
    return len(per_frame) if per_frame is not None else 1  # type: ignore[arg-type]


def _invalid(ds: Dataset, tag: int, what: str) -> InvalidDicomError:
    element = ds[tag]
    return InvalidDicomError(
        f"{element.keyword or 'element'} {what}", tag=tag, offset=element.offset
    )
