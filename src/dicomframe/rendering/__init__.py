"""Rendering: the grayscale and colour display pipelines, and their values at full precision.

PS3.3 C.11 and PS3.4 N.2.1.1 take stored values through the Modality LUT (rescale or
table), then the VOI (window or table), then to display values, inverted for
MONOCHROME1 (C.7.6.3.1.2); PALETTE COLOR looks indices up in colour tables
(C.7.6.3.1.5-6, C.7.9). The package keeps each job in one module:

- :mod:`~dicomframe.rendering.apply`: :func:`apply_modality_lut`, :func:`apply_voi_lut`,
  :func:`apply_windowing` on arrays, at full precision, as pydicom 3 gives them;
  :func:`apply_palette` (in :mod:`~dicomframe.rendering.palette`) for colours;
- :mod:`~dicomframe.rendering.pipeline`: the arithmetic of each step on arrays and
  numbers, down to 8-bit display values (``render_gray``, ``render_color``,
  ``render_palette``), which :func:`dicomframe.get_image` uses;
- :mod:`~dicomframe.rendering.readers`: a dataset's attributes as those steps'
  parameters, top-level or a frame's functional groups;
- :mod:`~dicomframe.rendering.luts`: lookup tables, plain and segmented.

Errors: what the file gets wrong is an :class:`~dicomframe.errors.InvalidDicomError`
naming the tag (a ValueError too); a parameter the caller gets wrong is a ValueError.
docs/rendering.md is the user's page.
"""

from __future__ import annotations

from dicomframe.rendering.apply import apply_modality_lut, apply_voi_lut, apply_windowing
from dicomframe.rendering.luts import (
    LUT,
    expand_segmented_lut,
    lut_descriptor,
    lut_entries,
    segmented_entries,
)
from dicomframe.rendering.palette import apply_palette, read_alpha_palette, read_palette
from dicomframe.rendering.pipeline import (
    VOI_FUNCTIONS,
    render_color,
    render_gray,
    render_palette,
    rescale,
    scale_to_8bit,
    stretch,
    to_display,
    window,
    window_problem,
)
from dicomframe.rendering.readers import (
    FRAME_VOI_LUT,
    PIXEL_VALUE_TRANSFORMATION,
    frame_source,
    read_lut,
    read_modality,
    read_modality_transform,
    read_voi,
    read_voi_function,
    read_window_range,
)

__all__ = [
    "FRAME_VOI_LUT",
    "LUT",
    "PIXEL_VALUE_TRANSFORMATION",
    "VOI_FUNCTIONS",
    "apply_modality_lut",
    "apply_palette",
    "apply_voi_lut",
    "apply_windowing",
    "expand_segmented_lut",
    "frame_source",
    "lut_descriptor",
    "lut_entries",
    "read_alpha_palette",
    "read_lut",
    "read_modality",
    "read_modality_transform",
    "read_palette",
    "read_voi",
    "read_voi_function",
    "read_window_range",
    "render_color",
    "render_gray",
    "render_palette",
    "rescale",
    "scale_to_8bit",
    "segmented_entries",
    "stretch",
    "to_display",
    "window",
    "window_problem",
]
