"""The codec contract: a frozen dataclass of facts plus two functions.

A codec declares its name, the transfer syntaxes it handles, whether it
decodes and/or encodes, which modules it needs (probed with :func:`.modules.find`,
which imports nothing) and which distribution versions (read from installed
metadata, which imports nothing either), its limits as :class:`Capabilities`
so the registry can skip it early and say why, how its backend may run on
many frames at once (:class:`Threading`), and for a lossy encoder the PSNR
its defaults keep.

Frames in, frames out:

- ``decode(frame: EncapsulatedFrame, /, *, out=None, **options) ->
  NativeFrame`` (:class:`DecodeFn`). The returned frame's ``data`` is flat,
  of exactly ``info.dtype`` and length, and its ``info`` tells the truth
  about the result: a YBR_FULL_422 JPEG decoded to RGB says RGB; planar
  configuration is 0; monochrome keeps its photometric. ``out`` is where the
  registry wants the frame (:class:`DecodeFn` says the rule).
- ``encode(frame: NativeFrame, syntax: TransferSyntax, /, **options) ->
  EncapsulatedFrame`` whose ``info`` describes the encoded stream.

:mod:`dicomframe.plugins.helpers` holds what a codec needs to keep the
contract (sign correction, colour, header parsing, ``out``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from dicomframe.plugins._requirements import unmet
from dicomframe.plugins.modules import find as find_module

if TYPE_CHECKING:
    from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.transfer_syntax import TransferSyntax

__all__ = [
    "INTERRUPTIONS",
    "Array",
    "Capabilities",
    "Codec",
    "DecodeFn",
    "EncodeFn",
    "Threading",
]

Array = np.ndarray[Any, Any]

# What a codec's call may raise that is never the codec failing: the user pressed Ctrl-C, or
# the interpreter is exiting. The registry and the executors catch every other exception (a
# Rust backend's panic is a BaseException) as that codec's failure, and re-raise these.
INTERRUPTIONS = (KeyboardInterrupt, SystemExit, GeneratorExit)


class DecodeFn(Protocol):
    """Decode one encapsulated frame.

    ``out``, when given, is where the registry wants the decoded values: a
    writable, C-contiguous, flat array of the decoded frame's dtype and
    ``values_per_frame`` values (one frame's part of a many-frame output).
    The rule: when ``out`` fits (:func:`dicomframe.plugins.helpers.decode_target`
    returns a view of it), decode into it and return a frame whose ``data``
    is that memory; the registry then copies nothing. When it does not fit,
    or the decoder cannot use it (a colour conversion made a new array),
    return new data: the registry copies it into place, one copy slower. A
    decoder that takes ``**options`` and ignores ``out`` keeps the contract.
    A decoder that fails with ``out`` and succeeds without is not given it again.
    """

    def __call__(
        self, frame: EncapsulatedFrame, /, *, out: Array | None = None, **options: Any
    ) -> NativeFrame:
        """Return the decoded frame."""
        ...


class EncodeFn(Protocol):
    """Encode one native frame in a transfer syntax."""

    def __call__(
        self, frame: NativeFrame, syntax: TransferSyntax, /, **options: Any
    ) -> EncapsulatedFrame:
        """Return the encoded frame."""
        ...


class Threading(enum.StrEnum):
    """How a codec's backend may run on many frames at once (:mod:`dicomframe.parallel`).

    A Python function holds the GIL unless its backend lets it go, so
    :attr:`HOLDS_GIL` is the default: a codec declared so is never slower
    than one thread, while threads over a backend that holds the GIL would
    only take turns.
    """

    RELEASES_GIL = "releases-gil"
    """Thread-safe, and the backend releases the GIL while it works: threads run at once."""
    HOLDS_GIL = "holds-gil"
    """Thread-safe, but the backend holds the GIL: forked processes, when frames are slow."""
    PROCESS_ONLY = "process-only"
    """Not thread-safe: two threads must never call it at once; processes, or one thread."""


def _set(*values: int) -> frozenset[int]:
    return frozenset(values)


@dataclass(frozen=True, slots=True, kw_only=True)
class Capabilities:
    """What frames a codec can handle, so the registry can decline early and say why."""

    bits_allocated: frozenset[int] = field(default_factory=lambda: _set(8, 16))
    samples_per_pixel: frozenset[int] = field(default_factory=lambda: _set(1, 3))
    photometric: frozenset[str] | None = None  # None: any
    signed: bool = True
    max_bits_stored: int | None = None
    min_size: int = 1  # smallest rows and columns the backend accepts

    def why_not(self, info: FrameInfo) -> str | None:
        """The reason this codec cannot handle ``info``, or None when it can."""
        reason = self._layout(info)
        if reason is None and min(info.rows, info.columns) < self.min_size:
            reason = f"frames under {self.min_size}x{self.min_size} not supported"
        return reason

    def _layout(self, info: FrameInfo) -> str | None:
        if info.bits_allocated not in self.bits_allocated:
            return f"Bits Allocated {info.bits_allocated} not in {sorted(self.bits_allocated)}"
        if info.samples_per_pixel not in self.samples_per_pixel:
            return (
                f"Samples per Pixel {info.samples_per_pixel} not in "
                f"{sorted(self.samples_per_pixel)}"
            )
        if self.photometric is not None and info.photometric_interpretation not in self.photometric:
            return f"Photometric Interpretation {info.photometric_interpretation} not supported"
        if info.pixel_representation and not self.signed:
            return "signed pixels (Pixel Representation 1) not supported"
        if self.max_bits_stored is not None and info.bits_stored > self.max_bits_stored:
            return f"Bits Stored {info.bits_stored} above {self.max_bits_stored}"
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Codec:
    """One codec: facts and functions, no state.

    Attributes
    ----------
    name
        Unique, kebab-case: ``"pylibjpeg-openjpeg"``, ``"rle"``.
    transfer_syntaxes
        The UIDs it handles.
    encode_syntaxes
        The UIDs it can encode, when fewer than it decodes.
    decode, encode
        The functions; None when it cannot do that direction.
    decode_caps, encode_caps
        Its limits in each direction.
    modules
        Import names that must be installed (probed without importing).
    requires
        What to ``pip install`` when they are not: ``("pylibjpeg-openjpeg>=2.3",)``.
        The version clauses are also the backend's minimum versions:
        :meth:`too_old` reads them.
    priority
        Higher is tried first. The built-ins use -10 to 10 (docs/plugins.md
        says what a third-party codec should choose).
    encode_priority
        Its rank among encoders, when not ``priority`` (None): a backend
        that encodes faster than it decodes can be the first encoder and a
        later decoder. A conversion that verifies then decodes with the
        faster decoder, which is another codec (:meth:`ranked`).
    extra_check
        For limits :class:`Capabilities` cannot say: returns a reason or None.
    encode_check
        For encoding limits that depend on the target syntax (8-bit only for
        JPEG Baseline, say): ``(info, syntax)`` -> a reason or None.
    threading
        How the backend may run on many frames at once (:class:`Threading`).
    psnr_floor
        For a lossy encoder: the PSNR in dB (peak ``2**bits_stored - 1``)
        that its default settings keep at least, on any frame it accepts
        that is not noise (``dicomframe.testing.check_codec`` holds it to
        that); None for a codec that only encodes losslessly.
    """

    name: str
    transfer_syntaxes: frozenset[str]
    encode_syntaxes: frozenset[str] | None = None  # None: every one of transfer_syntaxes
    decode: DecodeFn | None = None
    encode: EncodeFn | None = None
    decode_caps: Capabilities = field(default_factory=Capabilities)
    encode_caps: Capabilities = field(default_factory=Capabilities)
    modules: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    priority: int = 0
    encode_priority: int | None = None  # None: ``priority`` in both directions
    extra_check: Callable[[FrameInfo], str | None] | None = None
    encode_check: Callable[[FrameInfo, TransferSyntax], str | None] | None = None
    threading: Threading = Threading.HOLDS_GIL
    psnr_floor: float | None = None

    def __post_init__(self) -> None:
        if self.encode_syntaxes is not None and not self.encode_syntaxes <= self.transfer_syntaxes:
            raise ValueError(f"codec {self.name}: encode_syntaxes must be among transfer_syntaxes")

    def missing_modules(self) -> list[str]:
        """The modules this codec needs that are not installed."""
        missing = []
        for module in self.modules:
            try:
                found = find_module(module) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                missing.append(module)
        return missing

    def is_available(self) -> bool:
        """True when every backend module is installed."""
        return not self.missing_modules()

    def too_old(self) -> str | None:
        """Why an installed backend is older than ``requires`` says, or None.

        Reads the installed distributions' versions from their metadata: no
        backend is imported. A requirement whose distribution is not
        installed is not "too old" (:meth:`missing_modules` says what is
        missing). For example ``"pylibjpeg-openjpeg 2.1.0 is installed; the
        codec needs pylibjpeg-openjpeg>=2.3"``.
        """
        reasons = [reason for reason in map(unmet, self.requires) if reason is not None]
        return "; ".join(reasons) or None

    def install_hint(self) -> str:
        """What to install to make this codec available."""
        if not self.requires:
            return f"install {', '.join(self.missing_modules())}"
        return "pip install " + " ".join(f'"{r}"' for r in self.requires)

    def ranked(self, *, encoding: bool) -> int:
        """Its priority in that direction: ``encode_priority`` for encoding, when set."""
        if encoding and self.encode_priority is not None:
            return self.encode_priority
        return self.priority

    def handles(self, uid: str, *, encoding: bool) -> bool:
        """True when the codec has a function for ``uid`` in that direction."""
        if encoding:
            syntaxes = (
                self.encode_syntaxes if self.encode_syntaxes is not None else self.transfer_syntaxes
            )
            return self.encode is not None and uid in syntaxes
        return self.decode is not None and uid in self.transfer_syntaxes

    def why_not(
        self, info: FrameInfo, *, encoding: bool = False, syntax: TransferSyntax | None = None
    ) -> str | None:
        """Why this codec cannot handle ``info`` in that direction (and syntax), or None."""
        caps = self.encode_caps if encoding else self.decode_caps
        reason = caps.why_not(info)
        if reason is None and self.extra_check is not None:
            reason = self.extra_check(info)
        if reason is None and encoding and syntax is not None and self.encode_check is not None:
            reason = self.encode_check(info, syntax)
        return reason
