"""Running the codec: encoding, decoding into ``out=`` buffers, and reading other codecs' streams.

Each layout is two frames of different content, as one multi-frame object:
the codec decodes the first plainly, then both into one output array with
``out=`` as :func:`dicomframe.parallel.decode_frames` calls it (a writable,
C-contiguous, flat array of the decoded frame's dtype and
``values_per_frame``, see :class:`~dicomframe.plugins.DecodeFn`). A result whose
data is not that memory is copied into it, as ``decode_frames`` does; once
both are decoded, each frame in the array must still be its source, so a
decoder that writes outside its own frame fails.

What the codec may refuse, and what it may not:

- ``why_not`` (Capabilities, ``extra_check``, ``encode_check``) declining a
  layout is honoured: the registry would never call it; the layout is
  reported as declined.
- An :class:`~dicomframe.errors.EncodeError` for a frame with bits set above
  Bits Stored is a refusal dicomframe's own encoders make ("mask them
  first"); the frame is then encoded with those bits cleared. An encoder
  that accepts such a frame must give back its Bits Stored values.
- A :class:`~dicomframe.errors.DecodeError` is a refusal the registry falls
  back from; the stream must then be read correctly by another installed
  codec, or the codec has written what nothing reads.
- An EncodeError for another layout ``why_not`` admits is a refusal too
  (the registry tries the next codec), reported as such: declaring the
  limit instead lets the registry decline up front and say why.
- Anything else that is raised, or a result of the wrong shape or values,
  is a breach.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.transfer_syntax import resolve
from dicomframe.errors import DecodeError, EncodeError, UnknownTransferSyntaxError
from dicomframe.testing.checks import decoded_problem, encoded_problem
from dicomframe.testing.compare import Verdict, judge, out_of_range
from dicomframe.testing.pixels import clean, source_frame
from dicomframe.testing.report import CodecReport, CrossCheck, Skip

if TYPE_CHECKING:
    from dicomframe.core.transfer_syntax import TransferSyntax
    from dicomframe.plugins.codec import Codec
    from dicomframe.plugins.manager import CodecManager
    from dicomframe.testing.layouts import Layout

__all__ = ["Decoded", "Expected", "Runner", "fail"]

SEEDS = (1, 2)  # two frames of different content for each layout: one multi-frame object
DEFAULT_FLOOR = 30.0  # dB, for a lossy encoder that declares no psnr_floor
# A codec's call may raise anything (a Rust backend's panic is a BaseException); these alone
# are not the codec failing: the user pressed Ctrl-C, or the interpreter is exiting.
INTERRUPTIONS = (KeyboardInterrupt, SystemExit, GeneratorExit)


def fail(what: str, problem: str) -> NoReturn:
    """Raise the AssertionError that reports a breach of the contract."""
    raise AssertionError(f"{what}: {problem}")


@dataclass(frozen=True, slots=True)
class Decoded:
    """One decoding: the frame (None when refused), the refusal, the lowest PSNR."""

    frame: NativeFrame | None = None
    refused: str | None = None
    psnr: float | None = None


@dataclass(frozen=True, slots=True)
class Expected:
    """What a decoding must give back.

    ``source`` under ``floor`` (PSNR in dB; None: exactly, and only a clean
    frame is checked when ``source`` is None too), or, for a lossy stream,
    ``reading``: its encoder's own decoding. How close a lossy stream comes
    to its source is the encoder's promise, not the decoder's; a decoder
    that reads another codec's stream as that codec reads it has done its
    job, even where the stream falls short of the floor.
    """

    source: NativeFrame | None
    floor: float | None = None
    reading: NativeFrame | None = None

    def verdict(self, result: NativeFrame) -> Verdict:
        """Whether ``result`` is what was expected (its problem, or None), and its PSNR."""
        if self.source is None:
            return Verdict(out_of_range(result))
        found = judge(result, self.source, floor=self.floor)
        if found.problem is None or self.floor is None or self.reading is None:
            return found
        if judge(result, self.reading, floor=self.floor).problem is None:
            return Verdict(None, found.psnr)
        return found


class Runner:
    """The codec under test, the other installed codecs, and the report being filled in."""

    def __init__(
        self, codec: Codec, peers: list[Codec], options: dict[str, Any], manager: CodecManager
    ) -> None:
        self.codec = codec
        self.manager = manager
        self.peers = peers
        self.options = options
        self.report = CodecReport(codec.name)
        self.encodes_verified = 0
        self.decodes_verified = 0

    def syntax(self, uid: str) -> TransferSyntax:
        """The syntax of ``uid``: the manager's (its plugins' private ones), else the process's.

        A codec checked with a manager that did not load its plugin still
        finds its private syntax, once any manager has loaded that plugin.
        """
        found = self.manager.transfer_syntax(uid)
        if found is not None:
            return found
        try:
            return resolve(uid)
        except UnknownTransferSyntaxError:
            raise AssertionError(f"transfer syntax {uid} is known to no loaded plugin") from None

    def skip(self, kind: str, what: str, reason: str) -> None:
        """Record a layout that was not verified, and why."""
        self.report.skipped.append(Skip(kind, what, reason))

    def floor(self, encoder: Codec, syntax: TransferSyntax) -> float | None:
        """The PSNR floor for ``encoder``'s streams in ``syntax``; None when lossless."""
        if not syntax.is_lossy:
            return None
        if encoder.psnr_floor is not None:
            return encoder.psnr_floor
        note = (
            f"{encoder.name} declares no psnr_floor: its lossy results held to {DEFAULT_FLOOR:g} dB"
        )
        if note not in self.report.notes:
            self.report.notes.append(note)
        return DEFAULT_FLOOR

    def sources(self, layout: Layout, syntax: TransferSyntax) -> list[NativeFrame]:
        """The frames of one layout: rich for a lossless syntax, smooth for a lossy one."""
        return [source_frame(layout, lossy=syntax.is_lossy, seed=seed) for seed in SEEDS]

    # -- encoding ----------------------------------------------------------------------------
    def encode_one(
        self, encoder: Codec, frame: NativeFrame, syntax: TransferSyntax, what: str
    ) -> EncapsulatedFrame | EncodeError:
        """``encoder``'s encoding of ``frame``, or its EncodeError; anything else fails."""
        assert encoder.encode is not None
        options = self.options if encoder is self.codec else {}
        try:
            result: object = encoder.encode(frame, syntax, **options)
        except EncodeError as exc:
            return exc
        except INTERRUPTIONS:
            raise
        except BaseException as exc:
            raise AssertionError(f"{what}: encode raised {type(exc).__name__}: {exc}") from exc
        problem = encoded_problem(result, syntax, frame.info)
        if problem is not None:
            fail(what, f"encode {problem}")
        assert isinstance(result, EncapsulatedFrame)
        return result

    def encode_all(
        self, frames: list[NativeFrame], syntax: TransferSyntax, what: str
    ) -> list[EncapsulatedFrame] | None:
        """The codec's encodings of ``frames``, or None (recorded) when it refuses one."""
        encoded = []
        for frame in frames:
            result = self.encode_one(self.codec, frame, syntax, what)
            if isinstance(result, EncodeError):
                self.skip("refused", what, f"EncodeError: {result}")
                return None
            encoded.append(result)
        return encoded

    # -- decoding ----------------------------------------------------------------------------
    def decode_one(
        self,
        frame: EncapsulatedFrame,
        expected: Expected,
        what: str,
        out: np.ndarray[Any, Any] | None = None,
    ) -> Decoded:
        """The codec's decoding of ``frame``, checked; a refusal (DecodeError) is returned."""
        assert self.codec.decode is not None
        options = {} if out is None else {"out": out}
        try:
            result: object = self.codec.decode(frame, **options)
        except DecodeError as exc:
            return Decoded(refused=f"DecodeError: {exc}")
        except INTERRUPTIONS:
            raise
        except BaseException as exc:
            raise AssertionError(f"{what}: decode raised {type(exc).__name__}: {exc}") from exc
        problem = decoded_problem(result, frame.info)
        if problem is not None:
            fail(what, f"decode {problem}")
        assert isinstance(result, NativeFrame)
        found = expected.verdict(result)
        if found.problem is not None:
            fail(what, found.problem)
        return Decoded(result, psnr=found.psnr)

    def decode_frames(
        self, encoded: list[EncapsulatedFrame], expected: list[Expected], what: str
    ) -> Decoded:
        """Decode one multi-frame object: plainly, then into one ``out=`` array (module doc)."""
        first = self.decode_one(encoded[0], expected[0], what)
        if first.frame is None:
            return first
        info = first.frame.info
        out = np.zeros((len(encoded), info.values_per_frame), dtype=info.dtype)
        worst = first.psnr
        for index, (frame, wanted) in enumerate(zip(encoded, expected, strict=True)):
            into = f"{what}, frame {index} decoded with out="
            result = self.decode_one(frame, wanted, into, out=out[index])
            if result.frame is None:
                fail(into, f"decoded without out= but refused with it ({result.refused})")
            _store(out[index], result.frame)
            worst = _lowest(worst, result.psnr)
        for index, wanted in enumerate(expected):
            problem = wanted.verdict(NativeFrame(out[index], info)).problem
            if problem is not None:
                fail(f"{what}, frame {index} in the out= array once all were decoded", problem)
        self.decodes_verified += 1
        return Decoded(first.frame, psnr=worst)

    def decode_sample(self, sample: EncapsulatedFrame, what: str) -> NativeFrame:
        """Decode a frame the author gave: a frame, clean, the same with ``out=``."""
        assert self.codec.decode is not None, f"{what}: samples given, but it cannot decode"
        decoded = self.decode_one(sample, Expected(None), what)
        if decoded.frame is None:
            fail(what, f"it refused a sample ({decoded.refused})")
        out = np.zeros(decoded.frame.info.values_per_frame, dtype=decoded.frame.info.dtype)
        again = self.decode_one(sample, Expected(decoded.frame), f"{what} with out=", out=out)
        if again.frame is None:
            fail(what, f"decoded without out= but refused with it ({again.refused})")
        self.decodes_verified += 1
        return decoded.frame

    # -- other codecs --------------------------------------------------------------------------
    def decoders(self, syntax: TransferSyntax) -> list[Codec]:
        """The other installed codecs that decode ``syntax``."""
        return [p for p in self.peers if p.handles(syntax.uid, encoding=False)]

    def encoders(self, syntax: TransferSyntax) -> list[Codec]:
        """The other installed codecs that encode ``syntax``."""
        return [p for p in self.peers if p.handles(syntax.uid, encoding=True)]

    def peer_decode(
        self, peer: Codec, frame: EncapsulatedFrame, expected: Expected, what: str, encoder: str
    ) -> Decoded | None:
        """``peer``'s decoding of ``frame``, checked; None when it declines the frame.

        A peer that raises or returns garbage is recorded as refusing (it is
        not the codec under test); one that returns other pixels fails.
        """
        if peer.why_not(frame.info) is not None or peer.decode is None:
            return None
        syntax = self.syntax(frame.info.transfer_syntax_uid).keyword
        try:
            result: object = peer.decode(frame)
        except INTERRUPTIONS:
            raise
        except BaseException as exc:
            refusal = f"{type(exc).__name__}: {exc}"
            self.report.cross_checks.append(CrossCheck(encoder, peer.name, syntax, refusal))
            return Decoded(refused=refusal)
        problem = decoded_problem(result, frame.info)
        if problem is not None:
            self.report.cross_checks.append(CrossCheck(encoder, peer.name, syntax, problem))
            return Decoded(refused=problem)
        assert isinstance(result, NativeFrame)
        found = expected.verdict(result)
        if found.problem is not None:
            alone = expected.floor is not None and expected.reading is None
            blame = f"as {peer.name} reads it" if alone else f"{peer.name} decodes it differently"
            fail(what, f"{blame}: {found.problem}")
        self.report.cross_checks.append(CrossCheck(encoder, peer.name, syntax))
        return Decoded(result, psnr=found.psnr)

    def reading(self, encoder: Codec, frame: EncapsulatedFrame) -> NativeFrame | None:
        """``encoder``'s own decoding of a lossy ``frame`` it wrote, when it reads it."""
        if encoder.decode is None or encoder.why_not(frame.info) is not None:
            return None
        try:
            result: object = encoder.decode(frame)
        except INTERRUPTIONS:
            raise
        except BaseException:  # then only the source is the reference
            return None
        return result if decoded_problem(result, frame.info) is None else None  # type: ignore[return-value]

    def peer_encode(
        self, peer: Codec, sources: list[NativeFrame], syntax: TransferSyntax
    ) -> tuple[list[EncapsulatedFrame], list[NativeFrame]] | None:
        """``peer``'s encodings of ``sources`` (cleaned if it refuses dirty bits), or None."""
        for frames in (sources, [clean(s) for s in sources]):
            try:
                encoded = [self.encode_one(peer, f, syntax, peer.name) for f in frames]
            except AssertionError:  # the peer's own breach: not this codec's to answer for
                return None
            if not any(isinstance(e, EncodeError) for e in encoded):
                return [e for e in encoded if isinstance(e, EncapsulatedFrame)], frames
        return None


def _store(target: np.ndarray[Any, Any], frame: NativeFrame) -> None:
    """Copy a decoded frame into its place in the output unless it was decoded there."""
    data = frame.data
    if data.ctypes.data != target.ctypes.data or data.nbytes != target.nbytes:
        target[...] = data


def _lowest(one: float | None, other: float | None) -> float | None:
    if one is None or other is None:
        return one if other is None else other
    return min(one, other)
