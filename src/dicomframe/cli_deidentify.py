"""``dicomframe deidentify``: PS3.15 de-identification of a file or a tree of files.

The job per file is :func:`dicomframe.deid.files.deidentify_job`, run by the
tree machinery transcode uses (:func:`dicomframe.batch.run_jobs`), on the
local pool or, with ``--scheduler``, on a Dask cluster. Here are
what only the command has: its options, the salt (``--salt-file``, or one
random salt for the run), mask rules loaded before any file, and where each
file's errors, warnings and report rows are told.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dicomframe.deid.files import ReportWriter, Row

__all__ = ["add_deidentify", "run"]


def add_deidentify(commands: Any) -> argparse.ArgumentParser:
    """Add the ``deidentify`` command to the subparsers; return its parser."""
    from dicomframe.cli_engine import add_engine

    deid = commands.add_parser(
        "deidentify",
        help="de-identify files or a directory tree (PS3.15 Basic Profile and its options)",
    )
    deid.add_argument("src", help="a DICOM file or a directory (walked recursively)")
    deid.add_argument("dst", help="the output file, or the directory to mirror the tree in")
    deid.add_argument(
        "--option",
        action="append",
        metavar="NAME",
        help="a profile option (repeatable): retain-uids... a wrong name lists them",
    )
    deid.add_argument(
        "--salt-file",
        metavar="FILE",
        help="the secret UIDs and dates derive from (its bytes); default: random, for this run",
    )
    deid.add_argument(
        "--mask-config",
        metavar="FILE",
        help="mask rules (JSON or TOML): rectangles blacked out per Manufacturer, model, size",
    )
    deid.add_argument(
        "--strict",
        action="store_true",
        help="refuse files whose Burned In Annotation is YES and that no mask rule matches",
    )
    deid.add_argument("--workers", type=int, default=1, help="files de-identified in parallel")
    deid.add_argument(
        "--report", metavar="CSV", help="write each file's actions (old values hashed) here"
    )
    deid.add_argument(
        "--overwrite",
        action="store_true",
        help="replace outputs that exist (by default a tree keeps them, a file fails)",
    )
    add_engine(deid)
    deid.set_defaults(run=run)
    return deid  # type: ignore[no-any-return]


def run(args: argparse.Namespace) -> int:
    """Run ``dicomframe deidentify``; the exit status."""
    from functools import partial

    from dicomframe.batch import NOT_DICOM, default_progress, run_jobs
    from dicomframe.cli_engine import check_engine, connected
    from dicomframe.core.writer import atomic_file
    from dicomframe.deid.files import ReportWriter, deidentify_job
    from dicomframe.deid.options import parse_options
    from dicomframe.program import start_up_over

    chosen = parse_options(args.option or ())  # an unknown name fails here, before any file
    src, dst = Path(args.src), Path(args.dst)
    if not src.exists():
        raise FileNotFoundError(f"{src} does not exist")
    check_engine(args.workers, args.scheduler)
    salt = _salt(args.salt_file)
    rules = None
    if args.mask_config is not None:  # a bad file fails here, before any file
        from dicomframe.deid.masks import load_rules

        rules = load_rules(args.mask_config)
    progress = default_progress()
    root = src if src.is_dir() else src.parent
    names = tuple(sorted(option.value for option in chosen))
    job = partial(
        deidentify_job,
        options=names,
        salt=salt,
        root=str(root),
        rows=args.report is not None,
        mask_rules=rules,
        strict=args.strict,
    )
    start_up_over()  # set up: each file's work comes next
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(connected(args.scheduler))  # none: the local pool
        told = _Told("\r" if progress is not None else "")  # over the progress bar, if any
        if args.report is not None:  # written as files finish, renamed into place at the end
            Path(args.report).parent.mkdir(parents=True, exist_ok=True)
            told.sink = ReportWriter(stack.enter_context(atomic_file(args.report)), root)
        result = run_jobs(
            src,
            dst,
            job,
            workers=args.workers,
            overwrite=args.overwrite,
            report=told.error,
            progress=progress,
            collect=told.rows,
            executor=client,
            manifest=args.manifest,
        )
        if told.sink is not None:
            for source in result.existing:
                told.sink.existing(source)
    for path, why in result.skipped:
        if why != NOT_DICOM:
            sys.stderr.write(f"dicomframe deidentify: {path}: skipped: {why}\n")
    sys.stdout.write(result.summary("de-identified"))
    return 0 if result.ok else 1


class _Told:
    """Where ``deidentify`` tells of each file: errors and warnings on stderr, the report."""

    __slots__ = ("sink", "start")

    def __init__(self, start: str, sink: ReportWriter | None = None) -> None:
        self.start = start  # "\r" to write over the progress bar
        self.sink = sink

    def error(self, path: Path, error: str) -> None:
        sys.stderr.write(f"{self.start}dicomframe deidentify: {path}: {error}\n")
        if self.sink is not None:
            self.sink.error(path, error)

    def rows(self, path: Path, rows: list[Row]) -> None:
        from dicomframe.deid.files import WARNING

        for row in rows:
            if row[4] == WARNING:
                sys.stderr.write(f"{self.start}dicomframe deidentify: {path}: warning: {row[6]}\n")
        if self.sink is not None:
            self.sink.rows(rows)


def _salt(salt_file: str | None) -> bytes:
    """The bytes of ``--salt-file``; without one, a random salt for this run, with a warning."""
    import os

    if salt_file is None:
        sys.stderr.write(
            "dicomframe deidentify: warning: no --salt-file: one random salt for this run; "
            "its UIDs and shifted dates will not match those of a later run\n"
        )
        return os.urandom(32)
    salt = Path(salt_file).read_bytes()
    if not salt:
        raise ValueError(f"--salt-file {salt_file} is empty: the salt must be a secret")
    return salt
