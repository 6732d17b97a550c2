"""Masks: rectangles of pixels blacked out, and the rules that choose them per device.

Text burned into the pixels (a name, a date on an ultrasound or a secondary
capture) is not in any attribute; the only remedy is to overwrite where it
lies. A :class:`Rect` is ``x, y, width, height`` in pixels (columns, rows,
from the top left). "Black" is the value that displays darkest:

- MONOCHROME2: the smallest stored value (0 unsigned, the minimum of Bits
  Stored when signed);
- MONOCHROME1 (0 is white): the largest stored value;
- RGB: zero on every sample; YBR: luminance 0 and both chroma at their middle
  (the YBR form of RGB zero).

Rules (:func:`load_rules`) choose rectangles by device and image size, as a
pixel anonymizer configured per scanner does: a JSON or TOML file of
``[[rule]]`` tables, each matching any subset of ``Manufacturer``,
``ManufacturerModelName``, ``Rows`` and ``Columns`` (strings compared without
case or surrounding spaces) and giving ``rects = [[x, y, w, h], ...]``. Every
matching rule's rectangles apply.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dicomframe.core.dataset import Dataset
from dicomframe.core.frame import NativeFrame

__all__ = ["MATCH_KEYS", "MaskRules", "Rect", "Rule", "black_value", "blacken", "load_rules"]

MATCH_KEYS = ("Manufacturer", "ManufacturerModelName", "Rows", "Columns")


@dataclass(frozen=True, slots=True)
class Rect:
    """A rectangle of pixels: ``x`` (column), ``y`` (row), ``width``, ``height``."""

    x: int
    y: int
    width: int
    height: int

    @classmethod
    def of(cls, value: Rect | Sequence[int]) -> Rect:
        """A Rect from itself or four integers; refuses negative or empty sizes."""
        if isinstance(value, Rect):
            rect = value
        else:
            numbers = list(value)
            if len(numbers) != 4 or not all(isinstance(n, int) for n in numbers):
                raise ValueError(f"a mask is four integers x, y, width, height, not {value!r}")
            rect = cls(*numbers)
        if rect.x < 0 or rect.y < 0 or rect.width <= 0 or rect.height <= 0:
            raise ValueError(f"mask {rect.text}: x, y must be >= 0 and width, height > 0")
        return rect

    @property
    def text(self) -> str:
        """``x=10 y=20 width=100 height=30``: how errors and reports name it."""
        return f"x={self.x} y={self.y} width={self.width} height={self.height}"

    def check(self, columns: int, rows: int) -> None:
        """Refuse a rectangle that does not lie wholly inside a ``columns`` x ``rows`` image."""
        if self.x + self.width > columns or self.y + self.height > rows:
            raise ValueError(f"mask {self.text} lies outside the {columns}x{rows} image")


def black_value(frame: NativeFrame) -> list[int]:
    """The darkest value of ``frame``'s photometric interpretation, one per sample."""
    info = frame.info
    photometric = info.photometric_interpretation.strip().upper()
    bits = info.bits_stored
    if info.samples_per_pixel == 1:
        signed = bool(info.pixel_representation)
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        return [high if photometric == "MONOCHROME1" else low]
    if photometric.startswith("YBR"):
        middle = 1 << (bits - 1)
        return [0, middle, middle]
    return [0] * info.samples_per_pixel


def blacken(frame: NativeFrame, rects: Iterable[Rect]) -> None:
    """Overwrite ``rects`` of ``frame`` in place with :func:`black_value`."""
    info = frame.info
    value = black_value(frame)
    frame.make_writable()
    if info.is_subsampled:
        _blacken_422(frame, rects, value[0], value[1])
        return
    array = frame.array
    fill: Any = value[0] if info.samples_per_pixel == 1 else np.asarray(value, dtype=array.dtype)
    for rect in rects:
        array[rect.y : rect.y + rect.height, rect.x : rect.x + rect.width] = fill


def _blacken_422(frame: NativeFrame, rects: Iterable[Rect], luma: int, chroma: int) -> None:
    """Mask native YBR_FULL_422 data, stored Y1 Y2 Cb Cr per pair of pixels in a row.

    Every masked pixel gets black luma; a pair wholly inside a mask also gets
    neutral chroma. A pair the mask's edge splits keeps its chroma, which the
    pixel outside the mask shares: that pixel stays bit for bit as it was, and
    the masked one keeps only the pair's colour at half resolution, no detail.
    """
    info = frame.info
    if info.columns % 2:
        raise ValueError(f"YBR_FULL_422 with an odd number of columns ({info.columns})")
    pairs = frame.data.reshape(info.rows, info.columns // 2, 4)
    for rect in rects:
        rows = slice(rect.y, rect.y + rect.height)
        columns = np.arange(rect.x, rect.x + rect.width)
        pairs[rows, columns // 2, columns % 2] = luma
        pairs[rows, (rect.x + 1) // 2 : (rect.x + rect.width) // 2, 2:] = chroma


@dataclass(frozen=True, slots=True)
class Rule:
    """Rectangles for the images whose attributes equal ``match`` (any subset of MATCH_KEYS)."""

    match: Mapping[str, str]
    rects: tuple[Rect, ...]

    def matches(self, ds: Dataset) -> bool:
        """True when every attribute of ``match`` has the given value in ``ds``."""
        return all(_norm(ds.get(key)) == value for key, value in self.match.items())


@dataclass(frozen=True, slots=True)
class MaskRules:
    """The rules of one configuration file."""

    rules: tuple[Rule, ...]

    def for_dataset(self, ds: Dataset) -> list[Rect]:
        """The rectangles of every rule that matches ``ds`` (empty: none matches)."""
        found: list[Rect] = []
        for rule in self.rules:
            if rule.matches(ds):
                found += [r for r in rule.rects if r not in found]
        return found


def load_rules(path: str | os.PathLike[str]) -> MaskRules:
    """Read mask rules from a ``.json`` or ``.toml`` file.

    Raises
    ------
    ValueError
        A rule without rectangles, an unknown match key, or a bad rectangle;
        the message names the file and the rule's index.
    """
    source = Path(path)
    raw = source.read_bytes()
    data: Any = tomllib.loads(raw.decode("utf-8")) if source.suffix == ".toml" else json.loads(raw)
    entries = data.get("rule", data.get("rules")) if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ValueError(f"{source}: expected a list of rules under 'rule'")  # noqa: TRY004
    return MaskRules(tuple(_rule(entry, f"{source}: rule {i}") for i, entry in enumerate(entries)))


def _rule(entry: Any, where: str) -> Rule:
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: a rule is a table, not {entry!r}")  # noqa: TRY004
    unknown = set(entry) - {*MATCH_KEYS, "rects"}
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)} (match on {MATCH_KEYS})")
    rects = entry.get("rects")
    if not isinstance(rects, list) or not rects:
        raise ValueError(f"{where}: no rects")
    try:
        parsed = tuple(Rect.of(r) for r in rects)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: {error}") from None
    match = {key: _norm(entry[key]) for key in MATCH_KEYS if key in entry}
    return Rule(match, parsed)


def _norm(value: Any) -> str:
    if isinstance(value, list):
        value = "\\".join(str(v) for v in value)
    return "" if value is None else str(value).strip().upper()
