"""The ``dicomframe`` program's own process (``dicomframe.program``): the paused collector.

Each case runs ``dicomframe.cli.run()`` in a fresh process, with the command's work replaced
by a probe that prints the collector's state where the work would run.
"""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest

from dicomframe import program
from tests.reference import TESTDATA
from tests.test_cli import _run_program

CT = TESTDATA / "ct_explicit_le.dcm"

# Prints whether the collector runs, and how many objects are frozen, then does the work.
_PROBE = (
    "import gc\n"
    "def probe(work):\n"
    "    def run(*args, **kwargs):\n"
    "        print('collector', gc.isenabled(), gc.get_freeze_count() > 10000, file=sys.stderr)\n"
    "        return work(*args, **kwargs)\n"
    "    return run\n"
)


def _state(done: subprocess.CompletedProcess[str]) -> list[str]:
    lines = [line for line in done.stderr.splitlines() if line.startswith("collector")]
    assert lines, done.stderr
    return lines[0].split()[1:]


def test_set_up_runs_without_the_collector() -> None:
    """While a command sets up (imports numpy and the codecs), nothing is collected."""
    body = _PROBE + "cli.main = probe(cli.main)\n"
    done = _run_program(body, "--version")
    assert done.returncode == 0
    assert _state(done) == ["False", "False"]


def test_a_transcode_collects_again_with_start_up_frozen(tmp_path: Path) -> None:
    body = _PROBE + (
        "import dicomframe.batch as batch\nbatch._convert_one = probe(batch._convert_one)\n"
    )
    out = tmp_path / "out.dcm"
    done = _run_program(body, "transcode", str(CT), str(out), "--to", "RLELossless")
    assert done.returncode == 0, done.stderr
    assert out.exists()
    assert _state(done) == ["True", "True"]


def test_a_deidentify_collects_again_with_start_up_frozen(tmp_path: Path) -> None:
    body = _PROBE + (
        "import dicomframe.deid.files as files\n"
        "files.deidentify_job = probe(files.deidentify_job)\n"
    )
    done = _run_program(body, "deidentify", str(CT), str(tmp_path / "out.dcm"))
    assert done.returncode == 0, done.stderr
    assert _state(done) == ["True", "True"]


def test_a_dicomdir_collects_again_with_start_up_frozen(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "CT1").write_bytes(CT.read_bytes())
    body = _PROBE + (
        "import dicomframe.dicomdir.build as build\n"
        "build.write_dicomdir = probe(build.write_dicomdir)\n"
    )
    done = _run_program(body, "dicomdir", str(tree))
    assert done.returncode == 0, done.stderr
    assert _state(done) == ["True", "True"]


def test_a_program_calling_main_keeps_its_collector(tmp_path: Path) -> None:
    code = (
        "import sys\nimport dicomframe.cli as cli\n"
        + _PROBE
        + "import dicomframe.batch as batch\nbatch._convert_one = probe(batch._convert_one)\n"
        + f"sys.exit(cli.main(['transcode', {str(CT)!r}, {str(tmp_path / 'o.dcm')!r},"
        + " '--to', 'RLELossless']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert _state(done) == ["True", "False"]  # never paused, nothing frozen


def test_start_up_over_does_nothing_unless_the_program_paused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(program, "_paused", [])
    frozen = gc.get_freeze_count()
    program.start_up_over()
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen
