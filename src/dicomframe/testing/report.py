"""What ``check_codec`` tried, skipped and cross-checked: the report it returns.

A conformance run that passes says little unless it says what it exercised:
a codec whose capabilities admit two layouts passes as easily as one that
admits two hundred. The report lists every round trip, every layout the
codec declined or refused (with the reason, so an author can tell a
deliberate limit from a surprise), and every pair of codecs that read each
other's streams. ``str(report)`` is the summary a test can print.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dicomframe.core.frame_info import FrameInfo

__all__ = ["CodecReport", "CrossCheck", "Skip", "Trial"]


@dataclass(frozen=True, slots=True)
class Trial:
    """One layout the codec handled and the kit verified.

    ``layout`` says it in words, ``info`` exactly; ``psnr`` is the lowest
    PSNR (dB) of a lossy result, None for lossless.
    """

    syntax: str
    layout: str
    frames: int
    psnr: float | None = None
    info: FrameInfo | None = None

    def __str__(self) -> str:
        quality = "" if self.psnr is None else f", PSNR {_db(self.psnr)}"
        return f"{self.syntax}: {self.layout} ({self.frames} frames{quality})"


@dataclass(frozen=True, slots=True)
class Skip:
    """A layout not verified, and why.

    ``kind`` is ``"declined"`` (the codec's ``why_not``: Capabilities,
    ``extra_check`` or ``encode_check`` said no), ``"refused"`` (it raised
    :class:`~dicomframe.errors.EncodeError` or
    :class:`~dicomframe.errors.DecodeError`, a refusal the registry
    handles), or ``"not built"`` (declared, but no native layout the kit
    can build).
    """

    kind: str
    what: str
    reason: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.what}: {self.reason}"


@dataclass(frozen=True, slots=True)
class CrossCheck:
    """One stream one codec encoded and another decoded (or refused)."""

    encoder: str
    decoder: str
    syntax: str
    refused: str | None = None  # the decoder's error, when it raised


@dataclass
class CodecReport:
    """What :func:`~dicomframe.testing.check_codec` exercised.

    Attributes
    ----------
    codec
        The codec's name.
    round_trips
        Layouts it encoded and that decoded back as the source (by itself,
        or by another codec when it only encodes or refused its own stream).
    decoded
        Frames it decoded outside its round trips, and the kit verified: the
        ``samples=`` given, and its own streams of all Bits Allocated bits
        read with a lower Bits Stored (bits above Bits Stored set).
    skipped
        Layouts declined, refused or not built, with the reason.
    cross_checks
        Streams decoded by a codec other than their encoder: its streams read
        by the others, theirs read by it (``"sample"`` for ``samples=``).
    notes
        Assumptions the kit made (a PSNR floor the codec did not declare).
    """

    codec: str
    round_trips: list[Trial] = field(default_factory=list)
    decoded: list[Trial] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    cross_checks: list[CrossCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def declined(self) -> list[Skip]:
        """The layouts the codec's own ``why_not`` declined."""
        return [s for s in self.skipped if s.kind == "declined"]

    @property
    def pairs(self) -> Counter[tuple[str, str, str]]:
        """(encoder, decoder, syntax) -> streams decoded, for the pairs that ran."""
        return Counter((c.encoder, c.decoder, c.syntax) for c in self.cross_checks if not c.refused)

    def __str__(self) -> str:
        lines = [
            f"check_codec {self.codec}: {len(self.round_trips)} round trips, "
            f"{len(self.decoded)} decoded, {len(self.skipped)} skipped, "
            f"{sum(self.pairs.values())} cross-decoded"
        ]
        lines += _section("round trips", _by_syntax(self.round_trips))
        lines += _section("decoded", _by_syntax(self.decoded))
        lines += _section("skipped", _by_kind(self.skipped))
        lines += _section("cross-checked", self._pair_lines())
        lines += _section("notes", self.notes)
        return "\n".join(lines)

    def _pair_lines(self) -> list[str]:
        refused = Counter((c.encoder, c.decoder, c.syntax) for c in self.cross_checks if c.refused)
        keys = sorted(set(self.pairs) | set(refused))
        return [
            f"{encoder} -> {decoder} {syntax}: {self.pairs[(encoder, decoder, syntax)]} decoded"
            + (
                f", {refused[(encoder, decoder, syntax)]} refused"
                if refused[(encoder, decoder, syntax)]
                else ""
            )
            for encoder, decoder, syntax in keys
        ]


def _by_syntax(trials: list[Trial]) -> list[str]:
    """One line per syntax: how many layouts, and the lowest PSNR of lossy ones."""
    lines = []
    for syntax in sorted({t.syntax for t in trials}):
        mine = [t for t in trials if t.syntax == syntax]
        qualities = [t.psnr for t in mine if t.psnr is not None]
        low = f", lowest PSNR {_db(min(qualities))}" if qualities else ""
        lines.append(f"{syntax}: {len(mine)} layouts{low}")
    return lines


def _by_kind(skipped: list[Skip], shown: int = 3) -> list[str]:
    """Per kind of skip: how many, and the first few (``report.skipped`` holds them all)."""
    lines = []
    for kind in dict.fromkeys(s.kind for s in skipped):
        mine = [s for s in skipped if s.kind == kind]
        lines.append(f"{kind}: {len(mine)}")
        lines += [f"  {s.what}: {s.reason}" for s in mine[:shown]]
        if len(mine) > shown:
            lines.append(f"  ... and {len(mine) - shown} more")
    return lines


def _section(title: str, lines: list[str]) -> list[str]:
    return [f"  {title}:", *(f"    {line}" for line in lines)] if lines else []


def _db(value: float) -> str:
    return "exact" if math.isinf(value) else f"{value:.1f} dB"
