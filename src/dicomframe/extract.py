"""Save frames as image files: the engine behind ``dicomframe extract``.

PNG, TIFF or JPEG, chosen by the output's extension. By default a frame is
rendered for display (Modality LUT, VOI window, MONOCHROME1 inversion,
palette): 8-bit grey or RGB, what a viewer shows. ``raw=True`` keeps the
stored values at full precision instead (16-bit PNG/TIFF, 32-bit float
TIFF). Several frames go to numbered files, or to one multi-page TIFF.
``overlays=True`` burns the dataset's overlays (groups 6000-601E) into each
frame they belong to, as white (:mod:`dicomframe.overlay_burn`); with ``raw``,
at the largest value Bits Stored holds (the smallest for MONOCHROME1).

Every output is written atomically (:func:`~dicomframe.core.writer.atomic_file`):
to a temporary file in its directory, synced, then renamed over the
destination. A full disk or a stopped process leaves the old file as it was,
and a symbolic link at the destination is replaced, never written through.
Frames are rendered one at a time, each written before the next is rendered,
so memory holds a frame or two whatever the number of frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dicomframe.core.writer import atomic_file

if TYPE_CHECKING:
    from PIL import Image

    from dicomframe.core.dataset import Dataset

__all__ = ["FORMATS", "extract"]

FORMATS = {".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".jpg": "JPEG", ".jpeg": "JPEG"}


@dataclass(frozen=True, slots=True)
class _Rendering:
    """How every frame is rendered: extract's options, passed as one."""

    raw: bool
    window: tuple[float, float] | None
    voi: int | None
    overlays: bool


def _render(ds: Dataset, index: int, how: _Rendering) -> Image.Image:
    from dicomframe.imaging import get_image

    if how.raw:  # the stored values: a palette's indices, not its colours
        return get_image(ds, frame_index=index, palette=False, overlays=how.overlays)
    palette = ds.pixel_data.info.photometric_interpretation == "PALETTE COLOR"
    if palette and how.window is None and how.voi is None:
        # through the palette: 8-bit RGB
        return get_image(ds, frame_index=index, overlays=how.overlays)
    return get_image(
        ds, frame_index=index, display=True, window=how.window, voi=how.voi,
        overlays=how.overlays,
    )  # fmt: skip


# What each format holds of the modes get_image gives (Pillow's writers).
_HOLDS = {"PNG": {"1", "L", "I;16", "RGB"}, "JPEG": {"L", "RGB", "YCbCr"}}
_MODES = {
    "I": "signed or 32-bit integer",
    "F": "floating point",
    "I;16": "16-bit",
    "YCbCr": "YCbCr",
    "1": "1-bit",
}


def _check_mode(kind: str, image: Image.Image) -> None:
    """Refuse, with what to do instead, an image the format cannot hold."""
    if kind in _HOLDS and image.mode not in _HOLDS[kind]:
        what = _MODES.get(image.mode, image.mode)
        raise ValueError(
            f"{kind} cannot hold {what} values: write .tif, or leave out --raw "
            "for an 8-bit display image"
        )


def extract(  # noqa: PLR0913 - the options are keyword-only
    ds: Dataset,
    out: Path,
    *,
    frames: list[int] | None = None,
    raw: bool = False,
    window: tuple[float, float] | None = None,
    voi: int | None = None,
    overlays: bool = False,
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
    overlays
        Burn in the overlays that belong to each frame (see the module docstring).
    """
    kind = FORMATS.get(out.suffix.lower())
    if kind is None:
        raise ValueError(f"unknown image type {out.suffix!r}: use .png, .tif or .jpg")
    indices = frames if frames is not None else [0]
    images = _rendered(ds, indices, kind, _Rendering(raw, window, voi, overlays))
    if kind == "TIFF" and len(indices) > 1:
        _save_pages(out, images)
        return [out]
    options: dict[str, Any] = {"quality": 95} if kind == "JPEG" else {}
    written = []
    digits = len(str(max(indices)))
    for index, image in images:
        path = (
            out
            if len(indices) == 1
            else out.with_name(f"{out.stem}_{index:0{digits}d}{out.suffix}")
        )
        with atomic_file(path) as handle:
            image.save(handle, kind, **options)
        written.append(path)
    return written


def _rendered(
    ds: Dataset, indices: list[int], kind: str, how: _Rendering
) -> Iterator[tuple[int, Image.Image]]:
    """Each frame rendered when the previous one has been written, checked for the format."""
    for index in indices:
        image = _render(ds, index, how)
        _check_mode(kind, image)
        yield index, image
        ds.pixel_data.release(index)  # a pass over a large file does not keep it all resident


def _save_pages(out: Path, images: Iterator[tuple[int, Image.Image]]) -> None:
    """One multi-page TIFF, a page at a time.

    Pillow's ``save_all`` makes a list of ``append_images`` first, so its
    ``AppendingTiffWriter`` is driven here directly, as ``save_all`` drives it.
    """
    from PIL import TiffImagePlugin

    with atomic_file(out) as handle, TiffImagePlugin.AppendingTiffWriter(handle) as tiff:
        for _, image in images:
            image.save(tiff, "TIFF")
            tiff.newFrame()
