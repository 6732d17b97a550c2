"""Hostile input on the command line: one line on stderr and a non-zero exit, never a traceback.

Running out of memory and going past a :class:`dicomframe.Limits` limit are what
hostile or damaged files come to; ``--debug`` still shows the traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NoReturn

import pytest

import dicomframe as dcf
import dicomframe.core.reader
from dicomframe.cli import main
from dicomframe.core.limits import set_default_limits
from tests.reference import TESTDATA
from tests.test_batch_files import limited_cli

CT = TESTDATA / "ct_explicit_le.dcm"


def one_line(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"dicomframe {argv[0]}: error: ")
    return err


def test_dump_dev_zero_is_one_line() -> None:
    done = limited_cli("dump", "/dev/zero")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("dicomframe dump: error: ")
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


@pytest.fixture
def out_of_memory(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``read`` runs out of memory, with the message given in the list (or none)."""
    messages: list[str] = []

    def read(*args: Any, **kwargs: Any) -> NoReturn:
        raise MemoryError(*messages)

    monkeypatch.setattr(dicomframe.core.reader, "read", read)
    return messages


@pytest.mark.parametrize("message", ["Unable to allocate 3.79 GiB for an array", ""])
def test_out_of_memory_is_one_line(
    message: str, out_of_memory: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    if message:
        out_of_memory.append(message)
    for command in (["dump", str(CT)], ["extract", str(CT), "x.png"]):
        err = one_line(capsys, *command)
        assert err.startswith(f"dicomframe {command[0]}: error: out of memory")
        assert message in err
        assert "DICOMFRAME_LIMITS" in err  # what to do about it


def test_out_of_memory_with_debug_raises(out_of_memory: list[str]) -> None:
    with pytest.raises(MemoryError):
        main(["dump", str(CT), "--debug"])


@pytest.fixture
def few_elements() -> Iterator[None]:
    set_default_limits(dcf.Limits(max_elements=10))
    yield
    set_default_limits(None)


@pytest.mark.usefixtures("few_elements")
def test_a_limit_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    err = one_line(capsys, "dump", str(CT))
    assert "Limits.max_elements is 10" in err
    with pytest.raises(dcf.LimitError):
        main(["dump", str(CT), "--debug"])


def test_dump_lenient_names_each_repair_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    from pydicom.data import get_testdata_file

    damaged = str(get_testdata_file("MR_truncated.dcm"))
    assert main(["dump", damaged]) == 1  # strict by default
    capsys.readouterr()
    assert main(["dump", "--lenient", damaged]) == 0
    out, err = capsys.readouterr()
    assert "(7FE0,0010) OW PixelData" in out
    assert err.splitlines() == [
        "dicomframe dump: repaired: (7FE0,0010) at offset 1488 (0x5D0): OW value length 8192 "
        "exceeds the 8130 bytes that remain; kept the 8130 bytes that remain"
    ]


def test_ctrl_c_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def read(*args: Any, **kwargs: Any) -> NoReturn:
        raise KeyboardInterrupt

    monkeypatch.setattr(dicomframe.core.reader, "read", read)
    assert main(["dump", str(CT)]) == 130
    assert capsys.readouterr().err == "dicomframe dump: interrupted\n"
    with pytest.raises(KeyboardInterrupt):
        main(["dump", "--debug", str(CT)])
