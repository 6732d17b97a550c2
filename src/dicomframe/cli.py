"""The ``dicomframe`` command: ``dump``, ``codecs``, ``extract`` and ``transcode``.

Errors are one line on stderr and a non-zero exit status; ``--debug`` shows
the traceback instead. That includes running out of memory and a
:class:`~dicomframe.errors.LimitError`, what hostile or damaged input comes
to. While a command runs, SIGTERM and SIGHUP unwind like SIGINT
(:mod:`dicomframe.core.signals`), so a command that is stopped removes the
temporary file it was writing; it exits with 128 + the signal number.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dicomframe._version import __version__
from dicomframe.core.signals import Terminated, unwinding
from dicomframe.errors import DicomError, RepairWarning

if TYPE_CHECKING:
    from dicomframe.batch import BatchResult

__all__ = ["main"]


def _dump(args: argparse.Namespace) -> int:
    from dicomframe.core.dump import dump_lines
    from dicomframe.core.reader import read

    out = sys.stdout
    # A terminal that cannot show a name (ASCII, Latin-1) gets backslash escapes, not a traceback.
    encoding = getattr(out, "encoding", None) or "utf-8"

    def emit(line: str) -> None:
        out.write(line.encode(encoding, "backslashreplace").decode(encoding) + "\n")

    with warnings.catch_warnings(record=True) as repairs:
        warnings.simplefilter("always", RepairWarning)
        ds = read(
            args.file, force=args.force, stop_before_pixels=args.no_pixels, lenient=args.lenient
        )
    for repair in repairs:  # one line each on stderr, the dump itself stays on stdout
        print(f"dicomframe dump: repaired: {repair.message}", file=sys.stderr)
    with ds:
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


def _extract(args: argparse.Namespace) -> int:
    from dicomframe.core.reader import read
    from dicomframe.extract import extract

    with read(args.file, force=args.force) as ds:
        count = len(ds.pixel_data)
        if args.all:
            frames: list[int] | None = list(range(count))
        elif -count <= args.frame < count:
            frames = [args.frame % count]
        else:
            raise ValueError(f"--frame {args.frame}: {args.file} has frames 0 to {count - 1}")
        written = extract(
            ds,
            Path(args.out),
            frames=frames,
            raw=args.raw,
            window=tuple(args.window) if args.window else None,
            voi=args.voi,
        )
    for path in written:
        sys.stdout.write(f"{path}\n")
    return 0


def _transcode(args: argparse.Namespace) -> int:
    from dicomframe.batch import NOT_DICOM, default_progress, run
    from dicomframe.core.transfer_syntax import resolve

    syntax = resolve(args.to)  # an unknown name fails here, before any file is touched
    src, dst = Path(args.src), Path(args.dst)
    if not src.exists():
        raise FileNotFoundError(f"{src} does not exist")
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, not {args.workers}")
    options = {"keep_uid": args.keep_uid, "verify": False if args.no_verify else None}
    progress = default_progress()
    start = "\r" if progress is not None else ""  # over the progress bar, on a terminal

    def report(path: Path, error: str) -> None:
        sys.stderr.write(f"{start}dicomframe transcode: {path}: {error}\n")

    result = run(
        src,
        dst,
        syntax.uid,
        workers=args.workers,
        overwrite=args.overwrite,
        options=options,
        report=report,
        progress=progress,
    )
    for path, why in result.skipped:
        if why != NOT_DICOM:  # rare, and worth knowing: what it is
            sys.stderr.write(f"dicomframe transcode: {path}: skipped: {why}\n")
    sys.stdout.write(_summary(result))
    return 0 if result.ok else 1


def _summary(result: BatchResult) -> str:
    """The last line: what happened to every file, by outcome."""
    from dicomframe.batch import NOT_DICOM

    not_dicom = sum(why == NOT_DICOM for _, why in result.skipped)
    return (
        f"{result.converted} converted, {len(result.failed)} failed, "
        f"{not_dicom} skipped (not DICOM), "
        f"{len(result.skipped) - not_dicom} skipped (not a regular file), "
        f"{len(result.existing)} kept (output exists) in {result.seconds:.1f} s\n"
    )


def _add_debug(command: argparse.ArgumentParser) -> None:
    # Also after the command (`dicomframe dump FILE --debug`); SUPPRESS keeps the top-level value.
    command.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors"
    )


def _add_extract(commands: Any) -> None:
    extract = commands.add_parser(
        "extract", help="save frames as PNG, TIFF or JPEG (by the extension)"
    )
    extract.add_argument("file", help="a DICOM file")
    extract.add_argument("out", help="the image file: .png, .tif or .jpg")
    which = extract.add_mutually_exclusive_group()
    which.add_argument("--frame", type=int, default=0, help="the frame to save (default 0)")
    which.add_argument(
        "--all", action="store_true", help="every frame: numbered files, or one multi-page TIFF"
    )
    extract.add_argument(
        "--window", nargs=2, type=float, metavar=("CENTER", "WIDTH"), help="the VOI window"
    )
    extract.add_argument("--voi", type=int, help="use the dataset's Nth window or VOI LUT")
    extract.add_argument(
        "--raw", action="store_true", help="keep full precision (16-bit PNG/TIFF), no rendering"
    )
    extract.add_argument("--force", action="store_true", help="read files without preamble or meta")
    _add_debug(extract)
    extract.set_defaults(run=_extract)


def _add_transcode(commands: Any) -> None:
    transcode = commands.add_parser(
        "transcode", help="convert files or a directory tree to another transfer syntax"
    )
    transcode.add_argument("src", help="a DICOM file or a directory (walked recursively)")
    transcode.add_argument("dst", help="the output file, or the directory to mirror the tree in")
    transcode.add_argument(
        "--to", required=True, metavar="SYNTAX", help="UID or keyword, e.g. JPEG2000Lossless"
    )
    transcode.add_argument("--workers", type=int, default=1, help="files converted in parallel")
    transcode.add_argument(
        "--overwrite",
        action="store_true",
        help="replace outputs that exist (by default a tree keeps them, a file fails)",
    )
    transcode.add_argument(
        "--keep-uid", action="store_true", help="keep SOP Instance UIDs even when lossy"
    )
    transcode.add_argument(
        "--no-verify", action="store_true", help="do not decode lossless results to check them"
    )
    _add_debug(transcode)
    transcode.set_defaults(run=_transcode)


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
    dump.add_argument(
        "--lenient",
        action="store_true",
        help="recover what a damaged file still holds; each repair is named on stderr",
    )
    dump.add_argument("--width", type=int, default=64, help="cut values longer than this")
    _add_debug(dump)
    dump.set_defaults(run=_dump)
    codecs = commands.add_parser("codecs", help="list the codecs: plugin, syntaxes, availability")
    codecs.add_argument("--wide", action="store_true", help="list every transfer syntax")
    codecs.set_defaults(run=_codecs)
    _add_extract(commands)
    _add_transcode(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        with unwinding():
            status: int = args.run(args)
    except BrokenPipeError:  # pragma: no cover - `dicomframe dump | head`
        return 0
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"dicomframe {args.command}: interrupted", file=sys.stderr)
        return 130  # 128 + SIGINT, as a shell reports it
    except Terminated as stopped:
        print(f"dicomframe {args.command}: {stopped}", file=sys.stderr)
        return int(stopped.code or 1)
    except (DicomError, OSError, ValueError, MemoryError) as exc:
        if args.debug:
            raise
        print(f"dicomframe {args.command}: error: {_message(exc)}", file=sys.stderr)
        return 1
    return status


def _message(exc: BaseException) -> str:
    """The error on one line; running out of memory says so, and what to do."""
    message = str(exc).replace("\n", " | ")
    if isinstance(exc, MemoryError):
        detail = f" ({message})" if message else ""
        return (
            f"out of memory{detail}; to refuse such input before allocating, lower the "
            "limits: DICOMFRAME_LIMITS='max_frame_bytes=...,max_object_bytes=...'"
        )
    return message


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
