"""PALETTE COLOR: the Red, Green, Blue (and Alpha) Palette Color LUTs of a dataset.

PS3.3 C.7.6.3.1.5-6 (plain tables) and C.7.9.2 (segmented ones): each stored index is
looked up in one table per channel. :func:`read_palette` reads the tables (a
:class:`~dicomframe.rendering.LUT` each); :func:`apply_palette` gives the colours at
the tables' own depth, as pydicom's ``apply_color_lut`` does; display code scales them
to 8 bits with :func:`~dicomframe.rendering.render_palette`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dicomframe.core.dataset import Dataset
from dicomframe.rendering.luts import LUT
from dicomframe.rendering.readers import read_lut

__all__ = ["apply_palette", "read_alpha_palette", "read_palette"]

Array = np.ndarray[Any, Any]

_DESCRIPTOR, _DATA, _SEGMENTED = 0x00281101, 0x00281201, 0x00281221  # Red; + 1 Green, + 2 Blue
_ALPHA = 3  # Alpha is the fourth: (0028,1104), (0028,1204), (0028,1224)
_PIXEL_PRESENTATION, _REPRESENTATION = 0x00089205, 0x00280103


def read_palette(ds: Dataset, *, signed: bool) -> tuple[LUT, LUT, LUT]:
    """The Red, Green, Blue Palette Color LUTs, plain or segmented (PS3.3 C.7.6.3.1.5, C.7.9).

    ``signed``: Pixel Representation 1 (the descriptors' first mapped index is signed).
    Raises InvalidDicomError, naming the tag, for a table that is missing or bad.
    """
    red, green, blue = (_channel(ds, channel, signed=signed) for channel in range(3))
    return red, green, blue


def read_alpha_palette(ds: Dataset, *, signed: bool) -> LUT | None:
    """The Alpha Palette Color LUT (PS3.3 C.7.9), None when the dataset has none.

    Its descriptor is the Alpha Palette Color Lookup Table Descriptor (0028,1104), or
    the Red one when that is absent, as the three colours share one layout.
    """
    if _DATA + _ALPHA not in ds and _SEGMENTED + _ALPHA not in ds:
        return None
    descriptor = _DESCRIPTOR + (_ALPHA if _DESCRIPTOR + _ALPHA in ds else 0)
    return _channel(ds, _ALPHA, signed=signed, descriptor=descriptor)


def _channel(ds: Dataset, channel: int, *, signed: bool, descriptor: int | None = None) -> LUT:
    plain, segmented = _DATA + channel, _SEGMENTED + channel
    use_segmented = plain not in ds and segmented in ds
    return read_lut(
        ds,
        _DESCRIPTOR + channel if descriptor is None else descriptor,
        segmented if use_segmented else plain,
        signed=signed,
        segmented=use_segmented,
    )


def apply_palette(arr: Array, ds: Dataset, /) -> Array:
    """The colours of PALETTE COLOR indices: ``arr.shape + (3,)``, or ``(4,)`` with alpha.

    Parameters
    ----------
    arr
        Stored indices of any shape: one frame ``(rows, columns)``, a stack
        ``(frames, rows, columns)``, ...
    ds
        The dataset holding the Palette Color LUT module (top-level attributes: an
        image, or a Color Palette object's tables applied to another image's indices).
        For the 8-bit display colours of three LUTs, see
        :func:`~dicomframe.rendering.render_palette`.

    Returns
    -------
    numpy.ndarray
        uint8 or uint16, the tables' own entries (their depth as the LUT Data holds
        them: one byte an entry, or 16-bit words, PS3.3 C.7.6.3.1.5 note). Indices
        below the first mapped value take the first entry, those past the table the
        last (C.7.6.3.1.5), whatever the tables' depth. The Alpha table, when the
        dataset has one, is the fourth channel (RGBA).

    Raises
    ------
    InvalidDicomError
        For a table that is missing or bad (naming the tag): a descriptor that is not
        three numbers or gives bits outside 1..16, LUT Data shorter than the
        descriptor says, segmented data that does not expand.
    ValueError
        For a Supplemental Palette Color LUT (Pixel Presentation MIXED or COLOR,
        PS3.3 C.8.16.2.1.1.1): it colours only some values and shows the rest as
        grayscale, which this lookup does not do.
    """
    presentation = ds.get(_PIXEL_PRESENTATION)
    if str(presentation or "").strip().upper() in ("MIXED", "COLOR"):
        raise ValueError(
            f"Pixel Presentation {presentation}: a Supplemental Palette Color LUT "
            "colours some values only; apply_palette looks every value up"
        )
    signed = ds.get(_REPRESENTATION) == 1
    tables = [*read_palette(ds, signed=signed)]
    alpha = read_alpha_palette(ds, signed=signed)
    if alpha is not None:
        tables.append(alpha)
    dtype = np.result_type(*(table.entries.dtype for table in tables))
    out = np.empty((*np.shape(arr), len(tables)), dtype=dtype)
    for channel, table in enumerate(tables):
        out[..., channel] = table.apply(arr)
    return out
