"""Dispatch: choose codecs for a frame, try them in order, explain what happened.

Pure functions over a snapshot of the registry:

1. candidates are the codecs that list the frame's transfer syntax and have
   a function for the direction asked for, ordered ``codec=`` (only that one)
   > per-call ``prefer`` > the manager's ``prefer`` > ``priority`` (high
   first) > name;
2. each candidate gives one :class:`Attempt`: ``blocked``, ``unavailable``
   (with what to install), ``declined`` (its Capabilities say why), ``failed``
   (its exception, chained) or ``succeeded``;
3. when nothing succeeds, :class:`~dicomframe.errors.NoCodecError` carries
   every attempt, and its message is a table of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from dicomframe.errors import CodecUnavailableError, NoCodecError

if TYPE_CHECKING:
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.transfer_syntax import TransferSyntax
    from dicomframe.plugins.codec import Codec

__all__ = ["INTERRUPTIONS", "Attempt", "order", "run"]

Outcome = Literal["blocked", "unavailable", "declined", "failed", "succeeded"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """What happened when the registry considered one codec."""

    codec: str
    outcome: Outcome
    reason: str = ""
    error: BaseException | None = None


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
    return sorted(found, key=lambda c: (rank.get(c.name, len(rank)), -c.priority, c.name))


# Interruptions pass through; every other exception out of a codec is that codec's failure,
# a Rust backend's panic too (pyo3's PanicException derives from BaseException).
INTERRUPTIONS = (KeyboardInterrupt, SystemExit, GeneratorExit)


def run(
    candidates: Sequence[Codec],
    call: Callable[[Codec], Any],
    info: FrameInfo,
    *,
    encoding: bool,
    blocked: set[str],
    syntax: TransferSyntax | None = None,
) -> tuple[Any, list[Attempt]]:
    """Try each candidate; return the first result and the attempts made."""
    attempts: list[Attempt] = []
    for candidate in candidates:
        if candidate.name in blocked:
            attempts.append(Attempt(candidate.name, "blocked", "blocked by configuration"))
            continue
        if not candidate.is_available():
            attempts.append(Attempt(candidate.name, "unavailable", candidate.install_hint()))
            continue
        reason = candidate.why_not(info, encoding=encoding, syntax=syntax)
        if reason is not None:
            attempts.append(Attempt(candidate.name, "declined", reason))
            continue
        try:
            result = call(candidate)
        except INTERRUPTIONS:
            raise
        except BaseException as exc:  # see INTERRUPTIONS
            attempts.append(Attempt(candidate.name, "failed", f"{type(exc).__name__}: {exc}", exc))
            continue
        attempts.append(Attempt(candidate.name, "succeeded"))
        return result, attempts
    return None, attempts


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
    failures = [a.error for a in attempts if a.error is not None]
    if failures:
        error.__cause__ = failures[-1]
    return error


def unavailable(codec: Codec) -> CodecUnavailableError:
    """The error for ``codec=`` naming a codec whose backend is missing."""
    return CodecUnavailableError(
        f"codec {codec.name!r} is not available: {codec.install_hint()}",
        codec=codec.name,
        requires=codec.requires,
    )
