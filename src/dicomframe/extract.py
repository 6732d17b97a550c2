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

    if raw:  # the stored values: a palette's indices, not its colours
        return get_image(ds, frame_index=index, palette=False)
    palette = ds.pixel_data.info.photometric_interpretation == "PALETTE COLOR"
    if palette and window is None and voi is None:
        return get_image(ds, frame_index=index)  # through the palette: 8-bit RGB
    return get_image(ds, frame_index=index, display=True, window=window, voi=voi)


# What each format holds of the modes get_image gives (Pillow's writers).
_HOLDS = {"PNG": {"1", "L", "I;16", "RGB"}, "JPEG": {"L", "RGB", "YCbCr"}}
_MODES = {
    "I": "signed or 32-bit integer",
    "F": "floating point",
    "I;16": "16-bit",
    "YCbCr": "YCbCr",
    "1": "1-bit",
}


def _check_modes(kind: str, images: list[Image.Image]) -> None:
    """Refuse, with what to do instead, images the format cannot hold."""
    for image in images:
        if kind in _HOLDS and image.mode not in _HOLDS[kind]:
            what = _MODES.get(image.mode, image.mode)
            raise ValueError(
                f"{kind} cannot hold {what} values: write .tif, or leave out --raw "
                "for an 8-bit display image"
            )


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
    _check_modes(kind, images)
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
