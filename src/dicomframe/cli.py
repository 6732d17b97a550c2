"""The ``dicomframe`` command: ``dump FILE`` and ``codecs``.

Errors are one line on stderr and a non-zero exit status; ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dicomframe._version import __version__
from dicomframe.errors import DicomError

__all__ = ["main"]


def _dump(args: argparse.Namespace) -> int:
    from dicomframe.core.dump import dump_lines
    from dicomframe.core.reader import read

    out = sys.stdout
    # A terminal that cannot show a name (ASCII, Latin-1) gets \uXXXX escapes, not a traceback.
    encoding = getattr(out, "encoding", None) or "utf-8"

    def emit(line: str) -> None:
        out.write(line.encode(encoding, "backslashreplace").decode(encoding) + "\n")

    with read(args.file, force=args.force, stop_before_pixels=args.no_pixels) as ds:
        if ds.meta is not None and len(ds.meta):
            emit("# File meta information")
            for line in dump_lines(ds.meta, width=args.width):
                emit(line)
            emit(f"# Dataset: {ds.transfer_syntax}")
        for line in dump_lines(ds, width=args.width):
            emit(line)
    return 0


def _codecs(args: argparse.Namespace) -> int:
    from dicomframe.core.transfer_syntax import resolve
    from dicomframe.plugins.manager import default_manager

    manager = default_manager()
    rows = [("codec", "plugin", "version", "does", "transfer syntaxes", "status")]
    for status in manager.codecs():
        codec = status.codec
        does = "/".join(d for d, f in (("decode", codec.decode), ("encode", codec.encode)) if f)
        keywords = sorted(resolve(uid).keyword for uid in codec.transfer_syntaxes)
        syntaxes = (
            ", ".join(keywords)
            if args.wide or len(keywords) <= 3
            else (f"{', '.join(keywords[:3])} +{len(keywords) - 3}")
        )
        state = "available" if status.available else status.reason
        rows.append((codec.name, status.plugin, status.version, does, syntaxes, state))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        sys.stdout.write("  ".join([*cells, row[-1]]).rstrip() + "\n")
    for problem in manager.problems:
        sys.stdout.write(f"problem: {problem}\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dicomframe",
        description="Read, dump and convert DICOM files; pixel data as flat typed frames.",
    )
    parser.add_argument("--version", action="version", version=f"dicomframe {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    dump = commands.add_parser("dump", help="print every element of a file, like dcmdump")
    dump.add_argument("file", help="a DICOM file")
    dump.add_argument("--force", action="store_true", help="read files without preamble or meta")
    dump.add_argument("--no-pixels", action="store_true", help="stop before the pixel data")
    dump.add_argument("--width", type=int, default=64, help="cut values longer than this")
    # Also after the command (`dicomframe dump FILE --debug`); SUPPRESS keeps the top-level value.
    dump.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors"
    )
    dump.set_defaults(run=_dump)
    codecs = commands.add_parser("codecs", help="list the codecs: plugin, syntaxes, availability")
    codecs.add_argument("--wide", action="store_true", help="list every transfer syntax")
    codecs.set_defaults(run=_codecs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        status: int = args.run(args)
    except BrokenPipeError:  # pragma: no cover - `dicomframe dump | head`
        return 0
    except (DicomError, OSError) as exc:
        if args.debug:
            raise
        print(f"dicomframe {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
