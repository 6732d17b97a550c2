"""The ``dicomframe`` command: ``dump``, ``codecs``, ``extract``, ``transcode`` and more.

``codecs``, ``deidentify`` and ``dicomdir`` live in modules of their own
(:mod:`dicomframe.cli_codecs`, ...); this one parses the command line, runs
the command and turns its errors into one line each.

Errors are one line on stderr and a non-zero exit status; ``--debug`` shows
the traceback instead. That includes running out of memory and a
:class:`~dicomframe.errors.LimitError`, what hostile or damaged input comes
to. dicomframe's warnings (a plugin that failed to load, a codec fallback)
are one line on stderr too, ``dicomframe CMD: warning: ...``; ``--debug``
adds the traceback of the error behind a plugin's. While a command runs,
SIGTERM and SIGHUP unwind like SIGINT (:mod:`dicomframe.core.signals`), so a
command that is stopped removes the temporary file it was writing; it exits
with 128 + the signal number.

``transcode`` and ``extract`` take the codecs to use (``--decoder``,
``--encoder``, ``--codec``); ``codecs`` shows the registry, its problems
first, and with ``--syntax`` the order in which codecs are tried for one
transfer syntax.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from dicomframe._version import __version__
from dicomframe.cli_remote import add_storage_options, source_of, transcode_url, wants_url
from dicomframe.core.signals import Terminated, unwinding
from dicomframe.errors import DicomError, DicomWarning, RepairWarning
from dicomframe.program import leave, own_process, start_up_over

if TYPE_CHECKING:
    from dicomframe.core.transfer_syntax import TransferSyntax

__all__ = ["main", "run"]


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
            source_of(args.file, args),
            force=args.force,
            stop_before_pixels=args.no_pixels,
            lenient=args.lenient,
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


@contextlib.contextmanager
def _decoding_with(decoder: str | None) -> Iterator[None]:
    """Decode only with ``decoder`` (None: any) while the block runs, on the default manager.

    The frames of a dataset decode through the default manager, so the
    choice is made there, for this command only, and undone after it.
    """
    if decoder is None:
        yield
        return
    from dicomframe.plugins.manager import default_manager

    manager = default_manager()
    manager.choose(decoder=decoder)  # an unknown name fails here, before any file is read
    try:
        yield
    finally:
        manager.choose()


def _extract(args: argparse.Namespace) -> int:
    with _decoding_with(args.decoder):
        return _extract_frames(args)


def _extract_frames(args: argparse.Namespace) -> int:
    from dicomframe.core.reader import read
    from dicomframe.extract import extract

    with read(source_of(args.file, args), force=args.force) as ds:
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
            overlays=args.overlays,
        )
    for path in written:
        sys.stdout.write(f"{path}\n")
    return 0


def _transcode(args: argparse.Namespace) -> int:
    from dicomframe.batch import NOT_DICOM, default_progress, run
    from dicomframe.cli_engine import check_engine, connected
    from dicomframe.core.transfer_syntax import resolve

    syntax = resolve(args.to)  # an unknown name fails here, before any file is touched
    check_engine(args.workers, args.scheduler)
    _check_codecs(args.decoder, args.encoder, syntax)
    start_up_over()  # numpy and the codec registry are loaded: each file's work comes next
    options = {
        "keep_uid": args.keep_uid,
        "verify": False if args.no_verify else None,
        "decoder": args.decoder,
        "encoder": args.encoder,
    }
    if wants_url(args.src, args.dst):
        return transcode_url(args, syntax, options)
    src, dst = Path(args.src), Path(args.dst)
    if not src.exists():
        raise FileNotFoundError(f"{src} does not exist")
    progress = default_progress()
    start = "\r" if progress is not None else ""  # over the progress bar, on a terminal

    def report(path: Path, error: str) -> None:
        sys.stderr.write(f"{start}dicomframe transcode: {path}: {error}\n")

    with connected(args.scheduler) as client:  # no --scheduler: the local pool
        result = run(
            src,
            dst,
            syntax.uid,
            workers=args.workers,
            overwrite=args.overwrite,
            options=options,
            report=report,
            progress=progress,
            executor=client,
            manifest=args.manifest,
        )
    for path, why in result.skipped:
        if why != NOT_DICOM:  # rare, and worth knowing: what it is
            sys.stderr.write(f"dicomframe transcode: {path}: skipped: {why}\n")
    sys.stdout.write(result.summary())
    return 0 if result.ok else 1


def _check_codecs(decoder: str | None, encoder: str | None, syntax: TransferSyntax) -> None:
    """Refuse unknown codec names, and an encoder for a native syntax, before any file."""
    from dicomframe.plugins.manager import default_manager

    manager = default_manager()
    for name in (decoder, encoder):
        if name is not None:
            manager.get(name)  # NoCodecError with the close names
    if encoder is not None and not syntax.is_encapsulated:
        raise ValueError(
            f"--encoder/--codec {encoder}: {syntax.keyword} is native, no codec encodes it "
            "(--decoder chooses the codec that decodes the source)"
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
    extract.add_argument("file", help="a DICOM file, or its URL (s3://, https://...)")
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
    extract.add_argument(
        "--overlays",
        action="store_true",
        help="burn the overlays (groups 6000-601E) into the frames, in white",
    )
    extract.add_argument("--force", action="store_true", help="read files without preamble or meta")
    add_storage_options(extract)
    extract.add_argument(
        "--decoder",
        "--codec",
        metavar="CODEC",
        help="decode only with this codec (dicomframe codecs lists them)",
    )
    _add_debug(extract)
    extract.set_defaults(run=_extract)


def _add_transcode(commands: Any) -> None:
    from dicomframe.cli_engine import add_engine

    transcode = commands.add_parser(
        "transcode", help="convert files or a directory tree to another transfer syntax"
    )
    transcode.add_argument(
        "src", help="a DICOM file or a directory (walked recursively); or a file's URL"
    )
    transcode.add_argument(
        "dst", help="the output file, or the directory to mirror the tree in; or a URL"
    )
    add_storage_options(transcode)
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
    transcode.add_argument(
        "--decoder", metavar="CODEC", help="decode compressed sources only with this codec"
    )
    transcode.add_argument(
        "--encoder",
        "--codec",
        metavar="CODEC",
        help="encode only with this codec; another decoder verifies it where one is installed",
    )
    add_engine(transcode)
    _add_debug(transcode)
    transcode.set_defaults(run=_transcode)


class _Formatter(argparse.HelpFormatter):
    """argparse's help, its width found without importing ``shutil`` (and ``lzma``, ``bz2``).

    argparse makes a formatter for each argument it adds, and the stock one
    asks ``shutil.get_terminal_size``: 3 ms of imports for every command.
    """

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        super().__init__(prog, indent_increment, max_help_position, width or _columns() - 2)


def _columns() -> int:
    """What ``shutil.get_terminal_size`` says: $COLUMNS, the terminal's width, else 80."""
    with contextlib.suppress(KeyError, ValueError):
        return int(os.environ["COLUMNS"])
    with contextlib.suppress(AttributeError, ValueError, OSError):
        if sys.__stdout__ is not None:
            return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    return 80


class _ArgumentParser(argparse.ArgumentParser):
    """A parser, and its subcommands' parsers, with :class:`_Formatter`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


def _add_dump(commands: Any) -> None:
    dump = commands.add_parser("dump", help="print every element of a file, like dcmdump")
    dump.add_argument("file", help="a DICOM file, or its URL (s3://, https://...)")
    dump.add_argument("--force", action="store_true", help="read files without preamble or meta")
    dump.add_argument("--no-pixels", action="store_true", help="stop before the pixel data")
    dump.add_argument(
        "--lenient",
        action="store_true",
        help="recover what a damaged file still holds; each repair is named on stderr",
    )
    dump.add_argument("--width", type=int, default=64, help="cut values longer than this")
    add_storage_options(dump)
    _add_debug(dump)
    dump.set_defaults(run=_dump)


def _add_codecs(commands: Any) -> None:
    from dicomframe.cli_codecs import add_codecs

    _add_debug(add_codecs(commands))


def _add_deidentify(commands: Any) -> None:
    from dicomframe.cli_deidentify import add_deidentify

    _add_debug(add_deidentify(commands))


def _add_dicomdir(commands: Any) -> None:
    from dicomframe.cli_dicomdir import add_dicomdir

    _add_debug(add_dicomdir(commands))


# Each command's parser, in the order --help lists them.
_COMMANDS = {
    "dump": _add_dump,
    "codecs": _add_codecs,
    "extract": _add_extract,
    "transcode": _add_transcode,
    "deidentify": _add_deidentify,
    "dicomdir": _add_dicomdir,
}


def _named(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names (its first word that is not an option), if it is one.

    None when the program's own help is asked for before it.
    """
    for arg in argv:
        if arg in ("-h", "--help"):
            return None
        if not arg.startswith("-"):
            return arg if arg in _COMMANDS else None
    return None


def _parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of the command line; only the named command's when ``argv`` names one.

    Building every command's parser took 4-7 ms of a command that may take
    0.3 s, for options never read. ``--help``, no command or a misspelt one
    get them all, so the listing and argparse's suggestions stay whole.
    """
    parser = _ArgumentParser(
        prog="dicomframe",
        description="Read, dump and convert DICOM files; pixel data as flat typed frames.",
    )
    parser.add_argument("--version", action="version", version=f"dicomframe {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    named = None if argv is None else _named(argv)
    for name, add in _COMMANDS.items():
        if named is None or name == named:
            add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    parser = _parser(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        with unwinding(), _one_line_warnings(args.command, debug=args.debug):
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


@contextlib.contextmanager
def _one_line_warnings(command: str, *, debug: bool) -> Iterator[None]:
    """Show dicomframe's warnings as one line each on stderr, like errors; others as Python does.

    With ``debug``, a warning that carries the error behind it (a plugin's)
    is followed by that error's traceback.
    """
    shown = warnings.showwarning

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if not issubclass(category, DicomWarning):
            shown(message, category, filename, lineno, file, line)
            return
        text = str(message).replace("\n", " | ")
        sys.stderr.write(f"dicomframe {command}: warning: {text}\n")
        cause = getattr(message, "__cause__", None)
        if debug and cause is not None:
            import traceback  # here: only --debug shows one

            sys.stderr.write("".join(traceback.format_exception(cause)))

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


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


def run() -> None:
    """The ``dicomframe`` program: :func:`main` in a process of its own (:mod:`dicomframe.program`).

    The ``atexit`` handler that ends the process is registered before the
    command runs, so it runs after every handler registered later (they run
    last in, first out). :func:`main` returns as usual, for programs that
    run a command in their own process.
    """
    own_process()
    status = [1]  # an exception that escapes main() (--debug) exits with 1
    atexit.register(leave, status)
    try:
        code = main()
    except SystemExit as stop:  # argparse's usage errors and --help
        status[0] = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
        raise
    except KeyboardInterrupt:  # --debug lets it through: the status a shell expects
        status[0] = 130
        raise
    status[0] = code
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
