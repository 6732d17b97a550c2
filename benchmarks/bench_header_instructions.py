"""Instructions per header read, counted by callgrind: a measure that load does not move.

Run:  python benchmarks/bench_header_instructions.py [--first 100] [--last 600]

Reads the realistic headers of ``bench_headers.py`` (generated there first:
``python benchmarks/bench_headers.py --cases realistic``) with
``stop_before_pixels=True`` and touches PatientID, StudyInstanceUID and
Modality, once for ``--first`` files and once for ``--last`` files, each
under ``valgrind --tool=callgrind``; the difference divided by the
difference in files is what one more header costs, start-up and imports
left out. Needs valgrind.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = ROOT / "benchmarks" / "data" / "realistic_5000_256"
READ = """
import sys
from pathlib import Path
import dicomframe as dcf
files = sorted(Path(sys.argv[1]).glob("*.dcm"))[: int(sys.argv[2])]
for path in files:
    ds = dcf.read(path, stop_before_pixels=True)
    _ = (ds.PatientID, ds.StudyInstanceUID, ds.Modality)
"""


def instructions(count: int) -> int:
    """Instructions callgrind counts for a process that reads ``count`` headers."""
    run = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            READ,
            str(FILES),
            str(count),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected\s*:\s*(\d+)", run.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in callgrind's output: {run.stderr[-500:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=100)
    parser.add_argument("--last", type=int, default=600)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is needed: apt install valgrind")
    if len(list(FILES.glob("*.dcm"))) < args.last:
        sys.exit("generate the headers first: python benchmarks/bench_headers.py --cases realistic")
    low, high = instructions(args.first), instructions(args.last)
    per_file = (high - low) / (args.last - args.first)
    print(f"{per_file:,.0f} instructions per header read and 3 attributes "
          f"(files {args.first} to {args.last})")  # fmt: skip


if __name__ == "__main__":
    main()
