"""``dicomframe dicomdir``: write the DICOMDIR of a folder of DICOM files.

The work is :func:`dicomframe.dicomdir.build.write_dicomdir`; here are the
options and where each file left out and each invented key is told: on
stderr, one line each, then a summary line on stdout. The exit status is 0
when the DICOMDIR was written (files may have been left out: they are
listed), 1 when no file could be added and nothing was written.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_dicomdir", "run"]


def add_dicomdir(commands: Any) -> argparse.ArgumentParser:
    """Add the ``dicomdir`` command to the subparsers; return its parser."""
    dicomdir = commands.add_parser(
        "dicomdir",
        help="write the DICOMDIR of a folder (a PS3.10 File-set), as dcmmkdir does",
    )
    dicomdir.add_argument("dir", help="the folder of DICOM files, walked recursively")
    dicomdir.add_argument(
        "--output",
        metavar="PATH",
        help="the DICOMDIR to write (default DIR/DICOMDIR); file IDs are relative to its folder",
    )
    dicomdir.add_argument(
        "--fileset-id", default="", metavar="ID", help="the File-set ID: up to 16 of A-Z 0-9 _"
    )
    dicomdir.add_argument(
        "--overwrite", action="store_true", help="replace the DICOMDIR if it exists"
    )
    dicomdir.set_defaults(run=run)
    return dicomdir  # type: ignore[no-any-return]


def run(args: argparse.Namespace) -> int:
    """Run ``dicomframe dicomdir``; the exit status."""
    from dicomframe.dicomdir.build import write_dicomdir
    from dicomframe.program import start_up_over

    start_up_over()  # set up: reading every file's header comes next
    report = write_dicomdir(
        args.dir, output=args.output, fileset_id=args.fileset_id, overwrite=args.overwrite
    )
    for path, why in report.skipped:
        sys.stderr.write(f"dicomframe dicomdir: {path}: skipped: {why}\n")
    for warning in report.warnings:
        sys.stderr.write(f"dicomframe dicomdir: warning: {warning}\n")
    if report.output is None:
        sys.stderr.write("dicomframe dicomdir: error: no file could be added; nothing written\n")
        return 1
    sys.stdout.write(
        f"{report.output}: {len(report.added)} files listed, {len(report.skipped)} skipped\n"
    )
    return 0
