"""Overlays burnt into an image: what ``get_image(..., overlays=True)`` draws.

Every overlay group of the dataset (:func:`~dicomframe.core.overlays.overlay_groups`)
that has a plane for the frame is drawn, in group order, at Overlay Origin:
a plane larger than the image, or placed partly outside it, is cut to the
image. A multi-frame overlay draws plane ``k`` on image frame ``Image Frame
Origin - 1 + k`` only; an overlay without Number of Frames in Overlay draws its
one plane on every frame. Graphics (G) and region of interest (R) overlays are
drawn alike: how an overlay is shown is left to the viewer by the standard
(PS3.3 C.9.2), and white is what DCMTK's default "replace" mode shows.

Overlay pixels take the value the image shows as white:

- a display image (8-bit "L" or "RGB", after the VOI window and MONOCHROME1
  inversion): 255;
- a raw image (the stored values kept): the largest value Bits Stored holds
  (unsigned: ``2**bits - 1``, signed: ``2**(bits - 1) - 1``), or the smallest for
  MONOCHROME1, whose low values are white; a float frame's largest (smallest)
  value; YBR_FULL: luminance at its largest, chroma at its middle. The image
  keeps its mode and ``to_frame`` turns it back into a frame of the same type.
- a PALETTE COLOR frame's indices (``palette=False``) have no white, and are
  refused (ImageModeError); through the palette, the RGB image gets 255.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe.core.overlays import overlay_groups, overlay_layout, overlay_plane
from dicomframe.errors import ImageModeError

if TYPE_CHECKING:
    from PIL import Image

    from dicomframe.core.dataset import Dataset
    from dicomframe.core.frame_info import FrameInfo

__all__ = ["burn_overlays", "white_of"]


def white_of(image: Image.Image, info: FrameInfo, *, kept: bool) -> Any:
    """The value ``image`` shows as white: a display image's 255, else the stored range's end.

    ``kept`` says the image holds the frame's stored values (no rendering).
    """
    if not kept:
        return (255, 255, 255) if image.mode == "RGB" else 255
    pi = info.photometric_interpretation
    if pi == "PALETTE COLOR":
        raise ImageModeError(
            "a PALETTE COLOR frame's indices have no white to draw overlays with; "
            "leave palette=True (RGB through the palette) or pass display=True",
            info=info,
        )
    low, high = _stored_range(image, info)
    white = low if pi == "MONOCHROME1" else high
    if image.mode == "YCbCr":  # luminance at the top, no chroma
        return (high, (high + 1) // 2, (high + 1) // 2)
    return (white,) * 3 if image.mode == "RGB" else white


def _stored_range(image: Image.Image, info: FrameInfo) -> tuple[Any, Any]:
    """The lowest and highest value the image's pixels may hold."""
    if image.mode == "F":  # no stored range: the frame's own
        values = np.asarray(image)
        return (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if image.mode == "1":
        return 0, 1
    bits = info.bits_stored
    if info.pixel_representation:
        low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    else:
        low, high = 0, (1 << bits) - 1
    if image.mode == "I":  # Pillow's 32-bit signed mode: a uint32 frame's top is cut there
        high = min(high, 2**31 - 1)
    return low, high


def burn_overlays(
    image: Image.Image, ds: Dataset, frame_index: int, info: FrameInfo, *, kept: bool
) -> Image.Image:
    """Draw the overlays of ``ds`` that belong to frame ``frame_index`` on ``image``, in place.

    ``image`` is get_image's, whose pixels may be shared with the frame:
    Pillow copies them before the first drawing, so the frame is never written.
    Returns ``image``; with no overlay for the frame it is left as it was.
    """
    from PIL import Image

    white: Any = None
    for group in overlay_groups(ds):
        layout = overlay_layout(ds, group)
        plane_index = layout.plane_of(frame_index)
        if plane_index is None:
            continue
        top, left = layout.origin[0] - 1, layout.origin[1] - 1
        width, height = image.size
        y0, y1 = max(0, -top), min(layout.rows, height - top)
        x0, x1 = max(0, -left), min(layout.columns, width - left)
        if y1 <= y0 or x1 <= x0:
            continue  # placed wholly outside the image
        if white is None:
            white = white_of(image, info, kept=kept)
        plane = overlay_plane(ds, layout, plane_index)[y0:y1, x0:x1]
        mask = Image.fromarray(np.ascontiguousarray(plane * np.uint8(255)))  # mode "L"
        image.paste(white, (left + x0, top + y0), mask)
    return image
