"""Tests for the ``dicomframe`` command line."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dicomframe as dcf
from dicomframe import cli, worker_heap
from dicomframe.cli import main
from dicomframe.core.dump import dump_lines
from tests.reference import TESTDATA

CT = TESTDATA / "ct_explicit_le.dcm"


def test_dump_prints_meta_and_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dump", str(CT)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    ds = dcf.read(CT)
    assert ds.meta is not None
    meta_lines = list(dump_lines(ds.meta))
    assert lines[0] == "# File meta information"
    assert lines[1 : 1 + len(meta_lines)] == meta_lines
    assert lines[1 + len(meta_lines)] == ("# Dataset: ExplicitVRLittleEndian (1.2.840.10008.1.2.1)")
    assert lines[2 + len(meta_lines) :] == list(dump_lines(ds))
    assert "(0010,0010) PN PatientName [Doe^Jane^M^Dr^PhD]" in lines
    assert "(0002,0010) UI TransferSyntaxUID [1.2.840.10008.1.2.1]" in lines


def test_dump_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dump", "--no-pixels", "--width", "12", str(CT)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert not any(line.startswith("(7FE0,0010)") for line in lines)
    assert r"(0008,0008) CS ImageType [ORIGINAL..." in lines


def test_dump_force(capsys: pytest.CaptureFixture[str]) -> None:
    path = TESTDATA / "no_meta_implicit.dcm"
    assert main(["dump", str(path)]) == 1
    assert "no DICM prefix" in capsys.readouterr().err
    assert main(["dump", "--force", str(path)]) == 0
    out = capsys.readouterr().out
    assert "# File meta information" not in out  # there is none
    assert "(0010,0010) PN PatientName [Doe^Jane^M^Dr^PhD]" in out.splitlines()


def _text_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("not a DICOM file\n" * 20)
    return path


def _empty_file(tmp_path: Path) -> Path:
    path = tmp_path / "empty.dcm"
    path.write_bytes(b"")
    return path


BAD = {
    "truncated": lambda tmp: TESTDATA / "truncated.dcm",
    "text": _text_file,
    "empty": _empty_file,
    "missing": lambda tmp: tmp / "missing.dcm",
    "directory": lambda tmp: tmp,
}


@pytest.mark.parametrize("kind", BAD)
def test_bad_file_is_one_line_on_stderr(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = BAD[kind](tmp_path)
    assert main(["dump", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("dicomframe dump: error: ")
    assert err.endswith("\n")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_truncated_error_names_the_offset(capsys: pytest.CaptureFixture[str]) -> None:
    main(["dump", str(TESTDATA / "truncated.dcm")])
    assert "offset 598" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--debug", "dump", str(TESTDATA / "truncated.dcm")],
        ["dump", str(TESTDATA / "truncated.dcm"), "--debug"],
    ],
    ids=["before", "after"],
)
def test_debug_reraises(argv: list[str]) -> None:
    with pytest.raises(dcf.InvalidDicomError, match="offset 598"):
        main(argv)


def test_no_arguments_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: dicomframe")
    assert "dump" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"dicomframe {dcf.__version__}\n"


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_dump_of_names_a_terminal_cannot_show() -> None:
    """A terminal without the name's characters gets escapes, not a traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "dicomframe.cli", "dump", str(TESTDATA / "charset_utf8.dcm")],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert b"[Yamada^Tarou=\\u5c71\\u7530^\\u592a\\u90ce=" in result.stdout


def _console_script() -> Path:
    script = Path(sys.executable).parent / ("dicomframe.exe" if os.name == "nt" else "dicomframe")
    if not script.exists():
        pytest.skip("the dicomframe console script is not installed next to this Python")
    return script


def test_console_script() -> None:
    script = _console_script()
    result = subprocess.run(
        [str(script), "dump", str(CT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "(0028,0010) US Rows 64" in result.stdout.splitlines()
    bad = subprocess.run(
        [str(script), "dump", str(TESTDATA / "truncated.dcm")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert bad.stderr.startswith("dicomframe dump: error: ")
    assert bad.stderr.count("\n") == 1


@pytest.mark.parametrize("columns", [50, 120])
def test_help_fits_the_width_without_importing_shutil(columns: int) -> None:
    """The help is what argparse's stock formatter writes, for the terminal's width."""
    code = (
        "import argparse, sys\n"
        "import dicomframe.cli as cli\n"
        "def helped():\n"
        "    try:\n"
        "        cli.main(['transcode', '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "helped()\n"
        "print('shutil' in sys.modules, file=sys.stderr)\n"
        "print('=' * 10)\n"
        "cli._Formatter = argparse.HelpFormatter\n"
        "helped()\n"
    )
    env = {**os.environ, "COLUMNS": str(columns)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    ours, stock = out.stdout.split("=" * 10 + "\n")
    assert out.stderr.strip() == "False"  # the stock formatter imports it
    assert ours == stock
    assert len(ours.splitlines()) > (20 if columns == 50 else 10)


def _run_program(
    body: str, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``dicomframe.cli.run()`` in a fresh process, after ``body``; ``argv`` its arguments."""
    code = (
        f"import sys\nimport dicomframe.cli as cli\n{body}\n"
        f"sys.argv = ['dicomframe', *{argv!r}]\ncli.run()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env,
    )


# Run inside the command (main() replaced): the BLAS setting, numpy's threads, and the page
# faults of 8 rounds of four 1 MiB buffers made and freed.
_INSIDE = (
    "import os, resource\n"
    "command = cli.main\n"
    "def main(argv=None):\n"
    "    import numpy as np\n"
    "    status = open('/proc/self/status').read() if os.path.exists('/proc/self/status') else ''\n"
    "    threads = [l.split()[1] for l in status.splitlines() if l.startswith('Threads:')]\n"
    "    kept = [np.ones(1 << 20, np.uint8) for _ in range(4)]\n"
    "    del kept\n"
    "    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
    "    for _ in range(8):\n"
    "        kept = [np.ones(1 << 20, np.uint8) for _ in range(4)]\n"
    "        del kept\n"
    "    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before\n"
    "    blas = os.environ.get('OPENBLAS_NUM_THREADS')\n"
    "    print(blas, faults, *threads, file=sys.stderr)\n"
    "    return command(argv)\n"
    "cli.main = main\n"
)
_NO_BLAS_SETTING = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}


def test_the_program_starts_no_blas_threads_and_keeps_frame_buffers() -> None:
    """numpy's OpenBLAS pool would spin on the cores the frame workers need."""
    done = _run_program(_INSIDE, "--version", env=_NO_BLAS_SETTING)
    blas, faults, *threads = done.stderr.split()
    assert blas == "1"
    if threads:  # Linux: numpy, loaded after the program started, made no thread of its own
        assert threads == ["1"]
    if worker_heap._glibc():  # freed buffers were reused, not given back and faulted in again
        assert int(faults) < 8 * 256


def test_a_program_calling_main_keeps_its_own_settings() -> None:
    code = f"import sys\nimport dicomframe.cli as cli\n{_INSIDE}main(['--version'])\n"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=_NO_BLAS_SETTING,
        timeout=120,
    )
    blas, faults, *_ = done.stderr.split()
    assert blas == "None"
    if worker_heap._glibc():  # untouched: glibc gives the freed megabytes back each round
        assert int(faults) > 8 * 512
    chosen = {**_NO_BLAS_SETTING, "OPENBLAS_NUM_THREADS": "2"}
    assert _run_program(_INSIDE, "--version", env=chosen).stderr.split()[0] == "2"


@pytest.mark.parametrize(
    ("argv", "status"),
    [(("dump", str(CT)), 0), (("dump", str(TESTDATA / "truncated.dcm")), 1), (("dump",), 2)],
    ids=["done", "error", "usage"],
)
def test_the_program_exits_with_the_commands_status_and_all_its_output(
    argv: tuple[str, ...], status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        returned = main(list(argv))
    except SystemExit as stop:  # a usage error
        returned = stop.code
    want = capsys.readouterr()
    done = _run_program("", *argv)
    assert done.returncode == returned == status
    assert done.stdout == want.out  # every line: flushed before the process ended
    assert done.stderr == want.err


def test_the_program_runs_the_exit_handlers_of_the_command_and_skips_teardown() -> None:
    body = (
        "import atexit\n"
        "class Loud:\n"
        "    def __del__(self):\n"
        "        print('torn down', flush=True)\n"
        "kept = Loud()  # freed only by the interpreter's teardown\n"
        "command = cli.main\n"
        "def main(argv=None):\n"
        "    atexit.register(print, 'handler ran')  # as a library would during the command\n"
        "    return command(argv)\n"
        "cli.main = main\n"
    )
    done = _run_program(body, "--version")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert "handler ran" in lines
    assert "torn down" not in lines
    # the same program ending with main() alone is torn down: the check above can fail
    plain = subprocess.run(
        [sys.executable, "-c", body.replace("cli.main = main\n", "") + "\nmain(['codecs'])\n"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=Path(__file__).parent,
    )
    assert "torn down" in plain.stdout.splitlines()


def _choices(parser: argparse.ArgumentParser) -> list[str]:
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(commands.choices)


def _help(parser: argparse.ArgumentParser, command: str) -> str:
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return str(commands.choices[command].format_help())


@pytest.mark.parametrize("command", list(cli._COMMANDS))
def test_a_named_command_gets_only_its_own_parser(command: str) -> None:
    alone = cli._parser([command, "--debug"])
    whole = cli._parser()
    assert _choices(alone) == [command]
    assert _choices(whole) == list(cli._COMMANDS)
    assert _help(alone, command) == _help(whole, command)  # the same options, said the same way


@pytest.mark.parametrize(
    "argv",
    [[], ["--help"], ["-h", "transcode"], ["--debug", "--help", "dump"], ["transcod", "a"]],
)
def test_help_or_no_command_or_a_misspelt_one_gets_every_parser(argv: list[str]) -> None:
    assert _choices(cli._parser(argv)) == list(cli._COMMANDS)


def test_options_before_the_command_do_not_hide_it() -> None:
    assert _choices(cli._parser(["--debug", "codecs", "--wide"])) == ["codecs"]


def test_the_program_help_lists_every_command() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "dicomframe.cli", "--help", "transcode"],
        capture_output=True,
        text=True,
        check=True,
    )
    for command in cli._COMMANDS:
        assert f"    {command}" in run.stdout
