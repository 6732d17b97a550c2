"""Dispatch: choose codecs for a frame, try them in order, explain what happened.

Pure functions over a snapshot of the registry:

1. before any codec runs, :func:`check_limits` refuses a frame whose
   decoded size (from the dataset's FrameInfo) exceeds the
   :class:`~dicomframe.Limits`: :class:`~dicomframe.errors.LimitError`, and
   nothing has been allocated;
2. candidates are the codecs that list the frame's transfer syntax and have
   a function for the direction asked for, ordered ``codec=`` (only that one)
   > per-call ``prefer`` > the manager's ``prefer`` > ``priority`` (high
   first; ``encode_priority`` when encoding, if the codec sets one) > name;
3. each candidate gives one :class:`Attempt`: ``blocked``, ``unavailable``
   (not installed: what to install), ``declined`` (its Capabilities say
   why), ``unavailable`` again when the registry's ``ready`` check finds the
   installed backend unusable (it fails to import, or is older than the
   codec requires: the reason, and the error), ``failed`` (its exception,
   or a result that is not a valid frame: :func:`decoded_problem`,
   :func:`encoded_problem`) or ``succeeded``; after a failure the next
   candidate is tried. The backend is checked after the Capabilities, so a
   codec that declines the frame does not cost an import;
4. a frame whose codestream header contradicts the dataset
   (:func:`~dicomframe.plugins.codestream.frame_problem`, a :class:`Refusal`)
   is given to no codec: each one that would have been called is ``failed``
   with the contradiction as its reason, and the error is a
   :class:`~dicomframe.plugins.codestream.CodestreamError`, both a
   DecodeError and a NoCodecError. Codecs that are blocked, unavailable or
   declining are listed as ever, and when none would have been called the
   header does not matter;
5. when nothing succeeds, :class:`~dicomframe.errors.NoCodecError` carries
   every attempt, and its message is a table of them. Its ``__cause__`` is
   the first failure in the order tried whose codec raised (the codec the
   registry ranked highest among those that ran, whose own words say most
   about the stream); when no codec raised, the first invalid result; when
   no codec ran, the error of the first backend that failed to import or
   was too old (why the codec that should have run did not). Codecs that
   were blocked, not installed or declined are never the cause.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.record import Record, record
from dicomframe.errors import CodecUnavailableError, DecodeError, EncodeError, NoCodecError
from dicomframe.plugins.codec import INTERRUPTIONS  # re-exported: interruptions pass through
from dicomframe.plugins.codestream import CodestreamError, frame_problem

if TYPE_CHECKING:
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.limits import Limits
    from dicomframe.core.transfer_syntax import TransferSyntax
    from dicomframe.plugins.codec import Codec

__all__ = [
    "INTERRUPTIONS",
    "Attempt",
    "Choice",
    "Readiness",
    "Refusal",
    "cause",
    "check_limits",
    "decoded_bytes",
    "decoded_problem",
    "decoding",
    "encoded_problem",
    "encoding",
    "failure",
    "order",
    "refusal",
    "run",
    "unknown_name",
]

Outcome = Literal["blocked", "unavailable", "declined", "failed", "succeeded"]
Validator = Callable[[object], "str | None"]
# Why an installed codec cannot be used (its backend fails to import, or is too old), and the
# error behind it; None when it can.
Readiness = Callable[["Codec"], "tuple[str, BaseException] | None"]


@record
class Attempt(Record):
    """What happened when the registry considered one codec.

    ``invalid_result`` is True for a ``failed`` attempt whose codec returned
    something that is not a valid frame (``error`` then describes it) rather
    than raising.
    """

    codec: str
    outcome: Outcome
    reason: str = ""
    error: BaseException | None = None
    invalid_result: bool = False


# -- before any codec runs --------------------------------------------------------------------
def decoded_bytes(info: FrameInfo) -> int:
    """The bytes of one decoded frame as the dataset describes it (1-bit samples packed).

    Rows x Columns x Samples per Pixel x Bits Allocated / 8, rounded up: what
    :attr:`~dicomframe.Limits.max_frame_bytes` bounds.
    """
    bits = info.rows * info.columns * info.samples_per_pixel * info.bits_allocated
    return (bits + 7) // 8


def check_limits(frame: EncapsulatedFrame, limits: Limits) -> None:
    """Refuse a frame whose decoded size exceeds ``limits.max_frame_bytes``, before any codec.

    Raises
    ------
    LimitError
        Naming the limit, the frame's size and how to raise the limit.
    """
    where = f"decoded frame {frame.index}" if frame.index is not None else "the decoded frame"
    limits.check("max_frame_bytes", decoded_bytes(frame.info), what=where)


@record
class Refusal(Record):
    """The registry's reason to call no codec on a frame: its header contradicts the dataset."""

    reason: str
    frame_index: int | None

    def attempt(self, codec: str) -> Attempt:
        """The ``failed`` attempt of a codec that would have been called."""
        error = DecodeError(self.reason, codec=codec, frame_index=self.frame_index)
        return Attempt(codec, "failed", f"{self.reason} (checked before any codec ran)", error)


def refusal(frame: EncapsulatedFrame) -> Refusal | None:
    """The refusal of a frame whose codestream header contradicts its FrameInfo, or None."""
    reason = frame_problem(frame)
    return None if reason is None else Refusal(reason, frame.index)


# -- what a codec returned ----------------------------------------------------------------------
def decoded_problem(result: object, frame: EncapsulatedFrame) -> str | None:
    """Why ``result`` is not a valid decoding of ``frame``, or None when it is.

    Valid: a NativeFrame whose data is flat, of its FrameInfo's dtype and
    length, with the rows, columns and samples the dataset gave ``frame``
    (a decoder never resizes; the output was sized by the dataset).
    """
    if not isinstance(result, NativeFrame):
        return f"returned {type(result).__name__}, not a NativeFrame"
    data, info = result.data, result.info
    if data.ndim != 1 or data.dtype != info.dtype or data.size != info.values_per_frame:
        return (
            f"returned {data.size} values of {data.dtype} in {data.ndim} dimension(s); "
            f"its FrameInfo needs {info.values_per_frame} of {info.dtype}, flat"
        )
    asked = frame.info
    if (info.rows, info.columns, info.samples_per_pixel) != (
        asked.rows,
        asked.columns,
        asked.samples_per_pixel,
    ):
        return (
            f"returned a {info.columns}x{info.rows} frame of {info.samples_per_pixel} samples; "
            f"the dataset says {asked.columns}x{asked.rows} of {asked.samples_per_pixel}"
        )
    return None


def encoded_problem(result: object) -> str | None:
    """Why ``result`` is not a valid encoding, or None when it is an EncapsulatedFrame."""
    if not isinstance(result, EncapsulatedFrame):
        return f"returned {type(result).__name__}, not an EncapsulatedFrame"
    return None


def order(
    codecs: Iterable[Codec],
    uid: str,
    *,
    encoding: bool,
    codec: str | None = None,
    prefer: Sequence[str] = (),
) -> list[Codec]:
    """The candidates for ``uid``, in the order they are tried."""
    found = [c for c in codecs if c.handles(uid, encoding=encoding)]
    if codec is not None:
        return [c for c in found if c.name == codec]
    rank = {name: index for index, name in enumerate(prefer)}
    return sorted(
        found,
        key=lambda c: (rank.get(c.name, len(rank)), -c.ranked(encoding=encoding), c.name),
    )


def run(  # noqa: PLR0913 - keyword-only facts of one dispatch
    candidates: Sequence[Codec],
    call: Callable[[Codec], Any],
    info: FrameInfo,
    *,
    encoding: bool,
    blocked: Collection[str],
    syntax: TransferSyntax | None = None,
    validate: Validator | None = None,
    refused: Refusal | None = None,
    ready: Readiness | None = None,
) -> tuple[Any, list[Attempt]]:
    """Try each candidate; return the first valid result (None if none) and the attempts made.

    ``validate`` says why a result is not valid (None when it is); an invalid
    result is that codec failing, and the next one is tried. With ``refused``
    no codec is called: each that would have been fails with its reason.
    ``ready`` says why an installed codec cannot be used, just before it
    would be called.
    """
    attempts: list[Attempt] = []
    for candidate in candidates:
        skipped = _skipped(
            candidate, info, encoding=encoding, blocked=blocked, syntax=syntax, ready=ready
        )
        if skipped is not None:
            attempts.append(skipped)
            continue
        if refused is not None:
            attempts.append(refused.attempt(candidate.name))
            continue
        try:
            result = call(candidate)
        except INTERRUPTIONS:
            raise
        except BaseException as exc:  # a Rust backend panics with a BaseException: a failure
            attempts.append(Attempt(candidate.name, "failed", f"{type(exc).__name__}: {exc}", exc))
            continue
        problem = None if validate is None else validate(result)
        if problem is not None:
            attempts.append(_invalid(candidate.name, problem, encoding=encoding))
            continue
        attempts.append(Attempt(candidate.name, "succeeded"))
        return result, attempts
    return None, attempts


def _skipped(
    candidate: Codec,
    info: FrameInfo,
    *,
    encoding: bool,
    blocked: Collection[str],
    syntax: TransferSyntax | None,
    ready: Readiness | None,
) -> Attempt | None:
    """The attempt of a codec that is not called (blocked, unavailable, declining), or None."""
    if candidate.name in blocked:
        return Attempt(candidate.name, "blocked", "blocked by configuration")
    if not candidate.is_available():
        return Attempt(candidate.name, "unavailable", candidate.install_hint())
    reason = candidate.why_not(info, encoding=encoding, syntax=syntax)
    if reason is not None:
        return Attempt(candidate.name, "declined", reason)
    broken = ready(candidate) if ready is not None else None
    if broken is not None:
        return Attempt(candidate.name, "unavailable", broken[0], broken[1])
    return None


def _invalid(name: str, problem: str, *, encoding: bool) -> Attempt:
    """A failed attempt for a codec that returned ``problem`` instead of a frame."""
    kind = EncodeError if encoding else DecodeError
    error = kind(f"codec {name!r} {problem}", codec=name)
    return Attempt(name, "failed", problem, error, invalid_result=True)


def cause(attempts: Sequence[Attempt]) -> BaseException | None:
    """The failure a NoCodecError chains (rule 5 above).

    The first codec that raised, else the first invalid result, else the
    first installed backend that could not be used.
    """
    failures = [a for a in attempts if a.outcome == "failed" and a.error is not None]
    raised = [a for a in failures if not a.invalid_result]
    broken = [a for a in attempts if a.outcome == "unavailable" and a.error is not None]
    chosen = raised or failures or broken
    return chosen[0].error if chosen else None


def describe(info: FrameInfo) -> str:
    """``512x512, 3 samples, 16 bits, YBR_ICT``: a frame as the error message shows it."""
    samples = f"{info.samples_per_pixel} sample{'s' if info.samples_per_pixel != 1 else ''}"
    return (
        f"{info.columns}x{info.rows}, {samples}, {info.bits_allocated} bits, "
        f"{info.photometric_interpretation}"
    )


def no_codec(
    syntax: TransferSyntax,
    info: FrameInfo,
    attempts: Sequence[Attempt],
    *,
    encoding: bool,
    index: int | None,
    hints: Sequence[str],
) -> NoCodecError:
    """The error that lists every attempt and what to install."""
    verb = "encode" if encoding else "decode"
    frame = f" frame {index}" if index is not None else ""
    lines = [f"cannot {verb} {syntax.keyword} ({syntax.uid}){frame}: {describe(info)}"]
    if not attempts:
        lines.append(f"  no installed codec handles {syntax.keyword}")
    width = max((len(a.codec) for a in attempts), default=0)
    lines.extend(f"  {a.codec:<{width}}  {a.outcome:<11}  {a.reason}" for a in attempts)
    if hints:
        lines.append(f"install one of: {', '.join(hints)}")
    error = NoCodecError("\n".join(lines), syntax=syntax, attempts=attempts)
    error.__cause__ = cause(attempts)
    return error


def refused_error(error: NoCodecError, refused: Refusal) -> CodestreamError:
    """The error for a frame no codec was given (:class:`Refusal`), with the attempts table."""
    where = f"frame {refused.frame_index}" if refused.frame_index is not None else "the frame"
    message = f"{where}: {refused.reason}; no codec was called\n{error}"
    result = CodestreamError(
        message, frame_index=refused.frame_index, syntax=error.syntax, attempts=error.attempts
    )
    result.__cause__ = error.__cause__
    return result


def unavailable(
    codec: Codec, broken: tuple[str, BaseException] | None = None
) -> CodecUnavailableError:
    """The error for ``codec=`` naming a codec whose backend is missing or unusable.

    ``broken`` is the reason an installed backend cannot be used and its
    error, which the result chains.
    """
    reason = codec.install_hint() if broken is None else broken[0]
    error = CodecUnavailableError(
        f"codec {codec.name!r} is not available: {reason}",
        codec=codec.name,
        requires=codec.requires,
    )
    error.__cause__ = None if broken is None else broken[1]
    return error


def failure(  # noqa: PLR0913 - the facts the error reports
    syntax: TransferSyntax,
    info: FrameInfo,
    attempts: Sequence[Attempt],
    candidates: Sequence[Codec],
    *,
    encoding: bool,
    index: int | None,
    refused: Refusal | None,
) -> NoCodecError:
    """The error when no codec succeeded: every attempt, and what to install.

    The install hint lists the requirements of the codecs that were
    unavailable; with a :class:`Refusal`, the error is a CodestreamError.
    """
    unusable = {a.codec for a in attempts if a.outcome == "unavailable"}
    hints = sorted({r for c in candidates if c.name in unusable for r in c.requires})
    error = no_codec(syntax, info, attempts, encoding=encoding, index=index, hints=hints)
    if refused is not None and any(a.outcome == "failed" for a in attempts):
        return refused_error(error, refused)
    return error


def unknown_name(name: str, known: Iterable[str], *, what: str) -> NoCodecError:
    """The error for a name that is no codec's: the close names, else every name."""
    import difflib  # here: only a mistyped name needs it

    names = sorted(set(known))
    close = difflib.get_close_matches(name, names, n=3)
    hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(names) or 'none'}"
    return NoCodecError(f"no {what} named {name!r}; {hint}")


# -- what one call asks -----------------------------------------------------------------------
@record
class Choice(Record):
    """What one call asks of the registry beyond the frame: which codecs, in what order.

    ``codec`` only that one; ``prefer`` first; ``block`` never; ``sticky``
    the codec of the earlier frames, first; ``avoid`` left out of the
    candidates.
    """

    codec: str | None
    prefer: Sequence[str]
    block: Iterable[str]
    sticky: str | None
    avoid: str | None = None


def decoding(frame: EncapsulatedFrame, options: dict[str, Any]) -> Callable[[Codec], object]:
    """The call that asks one codec to decode ``frame``."""

    def call(codec: Codec) -> object:
        assert codec.decode is not None  # order() keeps codecs that decode
        return codec.decode(frame, **options)

    return call


def encoding(
    frame: NativeFrame, target: TransferSyntax, options: dict[str, Any]
) -> Callable[[Codec], object]:
    """The call that asks one codec to encode ``frame`` in ``target``."""

    def call(codec: Codec) -> object:
        assert codec.encode is not None  # order() keeps codecs that encode
        return codec.encode(frame, target, **options)

    return call
