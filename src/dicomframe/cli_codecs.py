"""``dicomframe codecs``: the codec registry, its problems first.

Without options, one line per codec: its plugin, version, backend, what it
does and for which transfer syntaxes (``--wide``: all of them), and whether
it is available. ``--syntax`` gives, for one transfer syntax and each
direction, the codecs in the order they are tried, with their rank, backend
and the frames they take. The exit status is 1 while the registry has
problems (a plugin that failed to load, a backend too old), else 0.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from dicomframe.plugins.codec import Capabilities, Codec
    from dicomframe.plugins.manager import CodecManager, CodecStatus

__all__ = ["add_codecs", "run"]


def add_codecs(commands: Any) -> argparse.ArgumentParser:
    """Add the ``codecs`` command to the subparsers; return its parser."""
    codecs = commands.add_parser(
        "codecs", help="list the codecs and plugin problems (exit status 1 while any exist)"
    )
    codecs.add_argument("--wide", action="store_true", help="list every transfer syntax")
    codecs.add_argument(
        "--syntax",
        metavar="SYNTAX",
        help="the codecs for this syntax in the order tried: priority, limits, backend",
    )
    codecs.set_defaults(run=run)
    return codecs  # type: ignore[no-any-return]


def run(args: argparse.Namespace) -> int:
    """The registry: its problems first (exit status 1 while there are any), then the codecs.

    Every installed backend is imported here (``check()``), so a backend that
    fails to import or is too old is a problem listed now, not at first use.
    """
    from dicomframe.plugins.manager import default_manager

    manager = default_manager()
    problems = manager.check()
    for problem in problems:
        sys.stdout.write(f"problem: {problem}\n")
        if args.debug and problem.__cause__ is not None:
            import traceback  # here: only --debug shows one

            sys.stdout.write("".join(traceback.format_exception(problem.__cause__)))
    if args.syntax is not None:
        _dispatch_order(manager, args.syntax)
    else:
        _codec_table(manager, wide=args.wide)
    return 1 if problems else 0


def _codec_table(manager: CodecManager, *, wide: bool) -> None:
    from dicomframe.core.transfer_syntax import resolve

    rows = [("codec", "plugin", "version", "backend", "does", "transfer syntaxes", "status")]
    for status in manager.codecs():
        codec = status.codec
        keywords = sorted(resolve(uid).keyword for uid in codec.transfer_syntaxes)
        syntaxes = (
            ", ".join(keywords)
            if wide or len(keywords) <= 3
            else (f"{', '.join(keywords[:3])} +{len(keywords) - 3}")
        )
        state = "available" if status.available else status.reason
        rows.append(
            (codec.name, status.plugin, status.version, _backend(status), _does(status), syntaxes,
             state)
        )  # fmt: skip
    _write_table(sys.stdout, rows)


def _dispatch_order(manager: CodecManager, name: str) -> None:
    """For each direction, the codecs for one syntax in the order tried, with their limits."""
    from dicomframe.core.transfer_syntax import resolve

    syntax = manager.transfer_syntax(name) or resolve(name)  # unknown: the error suggests names
    for encoding, verb in ((False, "decode"), (True, "encode")):
        sys.stdout.write(f"{verb} {syntax}, in the order tried:\n")
        statuses = manager.order(syntax, encoding=encoding)
        if not statuses:
            sys.stdout.write("  no codec\n")
            continue
        rows = [("", "codec", "priority", "backend", "status", "limits")]
        for number, status in enumerate(statuses, 1):
            codec = status.codec
            caps = codec.encode_caps if encoding else codec.decode_caps
            state = "available" if status.available else status.reason
            priority = str(codec.ranked(encoding=encoding))
            rows.append(
                (str(number), codec.name, priority, _backend(status), state,
                 _limits(caps, more=_more_checks(codec, encoding=encoding)))
            )  # fmt: skip
        _write_table(sys.stdout, rows, indent="  ")


def _more_checks(codec: Codec, *, encoding: bool) -> bool:
    """Whether the codec checks frames beyond its Capabilities (its own functions)."""
    return codec.extra_check is not None or (encoding and codec.encode_check is not None)


def _does(status: CodecStatus) -> str:
    codec = status.codec
    return "/".join(d for d, f in (("decode", codec.decode), ("encode", codec.encode)) if f)


def _backend(status: CodecStatus) -> str:
    """``imagecodecs 2026.3.6``: the backend's version, not the plugin's."""
    return ", ".join(f"{name} {version or '(not installed)'}" for name, version in status.backends)


def _limits(caps: Capabilities, *, more: bool) -> str:
    """A codec's Capabilities in a few words: what frames it takes."""
    parts = [
        "bits " + "/".join(str(b) for b in sorted(caps.bits_allocated)),
        "samples " + "/".join(str(n) for n in sorted(caps.samples_per_pixel)),
        "signed" if caps.signed else "unsigned only",
    ]
    if caps.photometric is not None:
        parts.append("/".join(sorted(caps.photometric)))
    if caps.max_bits_stored is not None:
        parts.append(f"stored <= {caps.max_bits_stored}")
    if caps.min_size > 1:
        parts.append(f"at least {caps.min_size}x{caps.min_size}")
    if more:
        parts.append("more checks")
    return ", ".join(parts)


def _write_table(out: TextIO, rows: Sequence[tuple[str, ...]], *, indent: str = "") -> None:
    """Columns padded to their widest cell; the last one is not padded."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.write((indent + "  ".join([*cells, row[-1]])).rstrip() + "\n")
