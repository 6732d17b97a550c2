"""Resource limits for untrusted input: one frozen :class:`Limits`, checked before allocating.

A DICOM file states its own sizes (Rows, Columns, Number of Frames, value
lengths, nesting) and a hostile or damaged file can state anything. Every
allocation sized by the file is checked here first, the way Pillow checks
``Image.MAX_IMAGE_PIXELS``: going past a limit raises
:class:`~dicomframe.errors.LimitError`, which names the limit, the value
asked for and how to raise it, and nothing is allocated.

The limits in force come, in order, from the call (``dcf.read(...,
limits=...)``), from :func:`set_default_limits`, or from the environment
variable ``DICOMFRAME_LIMITS`` (read once, e.g.
``DICOMFRAME_LIMITS="max_frame_bytes=4GiB,max_depth=200"``), else the
defaults below.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from dataclasses import dataclass

from dicomframe.errors import DicomError, LimitError

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "Budget",
    "Limits",
    "allow_recursion",
    "default_limits",
    "resolve_limits",
    "set_default_limits",
]

ENVIRONMENT_VARIABLE = "DICOMFRAME_LIMITS"
KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
_UNITS = {"": 1, "k": KIB, "kb": KIB, "kib": KIB, "m": MIB, "mb": MIB, "mib": MIB}
_UNITS |= {"g": GIB, "gb": GIB, "gib": GIB, "t": GIB << 10, "tb": GIB << 10, "tib": GIB << 10}


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """How much an input may make dicomframe allocate or walk.

    Attributes
    ----------
    max_frame_bytes
        Bytes of one decoded frame (Rows x Columns x Samples x Bits Allocated):
        1 GiB, a 16-bit 23k x 23k monochrome or an 8-bit 18k x 18k RGB frame.
    max_object_bytes
        Bytes of all frames decoded at once (``pixel_array``): 8 GiB.
    max_inflated_bytes
        Bytes a Deflated transfer syntax may inflate to: 512 MiB. Inflation
        is incremental, so memory follows the real content, not a length field.
    max_depth
        Nesting of sequences, the same for reading, writing and display: 100.
    max_elements
        Data elements and sequence items in one read, and fragments in one
        Pixel Data: 2,000,000.
    max_stream_bytes
        Bytes read from a stream that is not a regular file (a pipe, a
        socket, a non-seekable file object): 4 GiB.
    """

    max_frame_bytes: int = GIB
    max_object_bytes: int = 8 * GIB
    max_inflated_bytes: int = 512 * MIB
    max_depth: int = 100
    max_elements: int = 2_000_000
    max_stream_bytes: int = 4 * GIB

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Limits.{field.name} must be a positive int, not {value!r}")

    @classmethod
    def from_string(cls, text: str, *, base: Limits | None = None) -> Limits:
        """Limits from ``"max_frame_bytes=2GiB, max_depth=200"`` over ``base`` (or the defaults).

        Sizes take the suffixes K, M, G, T (powers of 1024), with or without
        ``iB``/``B``; underscores in numbers are allowed.
        """
        changes: dict[str, int] = {}
        names = {field.name for field in dataclasses.fields(cls)}
        for part in filter(None, (p.strip() for p in re.split(r"[,;\s]+", text))):
            name, _, value = part.partition("=")
            name = name.strip()
            if name not in names:
                raise DicomError(f"unknown limit {name!r} in {text!r}; known: {sorted(names)}")
            changes[name] = _parse_size(value.strip(), name)
        return dataclasses.replace(base or cls(), **changes)

    def check(
        self,
        limit: str,
        value: int,
        *,
        what: str = "",
        tag: int | None = None,
        offset: int | None = None,
    ) -> None:
        """Raise :class:`LimitError` when ``value`` exceeds the limit named ``limit``."""
        maximum: int = getattr(self, limit)
        if value > maximum:
            raise LimitError(limit, value, maximum, what=what, tag=tag, offset=offset)


def _parse_size(value: str, name: str) -> int:
    match = re.fullmatch(r"([0-9_]+)\s*([a-zA-Z]*)", value)
    unit = match and _UNITS.get(match.group(2).lower())
    if match is None or unit is None:
        raise DicomError(f"cannot read {value!r} as a size for Limits.{name}")
    return int(match.group(1)) * unit


_default: Limits | None = None


def default_limits() -> Limits:
    """The limits used when a call gives none: set, else from the environment, else defaults."""
    global _default  # noqa: PLW0603 - one process-wide default, as Pillow's MAX_IMAGE_PIXELS
    if _default is None:
        _default = Limits.from_string(os.environ.get(ENVIRONMENT_VARIABLE, ""))
    return _default


def set_default_limits(limits: Limits | None) -> None:
    """Make ``limits`` the process-wide default; None goes back to the environment's."""
    global _default  # noqa: PLW0603
    _default = limits


def allow_recursion(depth: int, *, frames_per_level: int = 6) -> None:
    """Make room on Python's stack for walking ``depth`` nested levels recursively.

    The default ``max_depth`` fits in Python's default recursion limit; a
    larger one given by a caller raises the interpreter's limit (never lowers
    it), so a deep but allowed dataset ends in a result, not a
    ``RecursionError``. Python-to-Python calls do not use the C stack, so this
    is safe for the pure-Python walkers that call it.
    """
    needed = depth * frames_per_level + 1000
    if sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)


class Budget:
    """What is left of a count limit while one read goes on (shared by every nesting level)."""

    __slots__ = ("left", "limit", "maximum", "what")

    def __init__(self, limit: str, maximum: int, what: str) -> None:
        self.limit = limit
        self.maximum = maximum
        self.left = maximum
        self.what = what

    def spend(self, count: int, *, offset: int | None = None) -> int:
        """Take ``count`` off; raise :class:`LimitError` once more was spent than allowed."""
        self.left -= count
        if self.left < 0:
            raise LimitError(
                self.limit,
                self.maximum - self.left,
                self.maximum,
                what=self.what,
                offset=offset,
            )
        return self.left


def resolve_limits(limits: Limits | None) -> Limits:
    """The limits given, or the default ones."""
    return default_limits() if limits is None else limits
