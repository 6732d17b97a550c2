"""Save frames as image files: the engine behind ``dicomframe extract``.

PNG, TIFF or JPEG, chosen by the output's extension. By default a frame is
rendered for display (Modality LUT, VOI window, MONOCHROME1 inversion,
palette): 8-bit grey or RGB, what a viewer shows. ``raw=True`` keeps the
stored values at full precision instead (16-bit PNG/TIFF, 32-bit float
TIFF). Several frames go to numbered files, or to one multi-page TIFF.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

    from dicomframe.core.dataset import Dataset

__all__ = ["FORMATS", "extract"]

FORMATS = {".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".jpg": "JPEG", ".jpeg": "JPEG"}


def _render(
    ds: Dataset, index: int, *, raw: bool, window: tuple[float, float] | None, voi: int | None
) -> Image.Image:
    from dicomframe.imaging import get_image

    if raw:
        return get_image(ds, frame_index=index)
    return get_image(ds, frame_index=index, display=True, window=window, voi=voi)


def extract(
    ds: Dataset,
    out: Path,
    *,
    frames: list[int] | None = None,
    raw: bool = False,
    window: tuple[float, float] | None = None,
    voi: int | None = None,
) -> list[Path]:
    """Write the chosen frames of ``ds`` to ``out``; return the files written.

    Parameters
    ----------
    frames
        Frame indices; None means frame 0.
    raw
        Keep full precision rather than rendering for display.
    window, voi
        The VOI window (center, width), or the dataset's VOI number.
    """
    kind = FORMATS.get(out.suffix.lower())
    if kind is None:
        raise ValueError(f"unknown image type {out.suffix!r}: use .png, .tif or .jpg")
    indices = frames if frames is not None else [0]
    images = [_render(ds, i, raw=raw, window=window, voi=voi) for i in indices]
    if kind == "JPEG" and any(image.mode not in ("L", "RGB") for image in images):
        raise ValueError("JPEG holds 8-bit images only: leave out --raw, or write .png/.tif")
    options: dict[str, Any] = {"quality": 95} if kind == "JPEG" else {}
    if len(images) == 1:
        images[0].save(out, kind, **options)
        return [out]
    if kind == "TIFF":
        images[0].save(out, kind, save_all=True, append_images=images[1:])
        return [out]
    digits = len(str(max(indices)))
    written = []
    for index, image in zip(indices, images, strict=True):
        path = out.with_name(f"{out.stem}_{index:0{digits}d}{out.suffix}")
        image.save(path, kind, **options)
        written.append(path)
    return written
