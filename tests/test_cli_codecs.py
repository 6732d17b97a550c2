"""The command line and codecs: ``dicomframe codecs`` and the codec choices of transcode/extract.

The default manager is replaced by a fresh one per test (a manager that
loads the entry points sees the distributions a test installs; one with
only the codecs a test registers shows which of them ran).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import dicomframe as dcf
import dicomframe.plugins.manager
from dicomframe.cli import main
from dicomframe.codecs import rle
from dicomframe.codecs.rle import RLE
from dicomframe.core.frame import EncapsulatedFrame
from dicomframe.plugins import CodecManager
from tests.plugins.distributions import Installer
from tests.plugins.fakes import Plugin
from tests.reference import TESTDATA
from tests.test_verification import counted

BROKEN_BACKEND = 'raise ImportError("libacme.so.3: cannot open shared object file")\n'
ACME = """
import dataclasses

from dicomframe.codecs.rle import RLE
from dicomframe.plugins import hookimpl


@hookimpl
def dicomframe_codecs():
    return [dataclasses.replace(RLE, name="acme-fast", modules=("acme_backend",))]
"""


@pytest.fixture
def installer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Installer]:
    installed = Installer(tmp_path / "site-packages", monkeypatch)
    yield installed
    installed.forget()


def use(manager: CodecManager, monkeypatch: pytest.MonkeyPatch) -> CodecManager:
    monkeypatch.setattr(dicomframe.plugins.manager, "default_manager", lambda: manager)
    return manager


# -- dicomframe codecs ---------------------------------------------------------------------
def test_problems_come_first_and_the_status_is_1(
    installer: Installer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    installer.install("broken-plugin", "0.1", {}, {"broken": "no_such_module_here"})
    installer.install("acme-backend", "1.0", {"acme_backend": BROKEN_BACKEND})
    installer.install("acme-codecs", "3.1", {"acme_codecs": ACME}, {"acme": "acme_codecs"})
    use(CodecManager(), monkeypatch)
    assert main(["codecs"]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith(
        "problem: plugin 'broken' (broken-plugin 0.1): failed to load: ModuleNotFoundError"
    )
    assert lines[1].startswith(  # found by importing every backend, as listing does
        "problem: plugin 'acme' (acme-codecs 3.1): codec 'acme-fast' cannot be used: "
        "backend 'acme_backend' failed to import: ImportError: libacme.so.3"
    )
    assert lines[2].split() == [
        "codec", "plugin", "version", "backend", "does", "transfer", "syntaxes", "status"
    ]  # fmt: skip
    acme = next(line for line in lines if line.startswith("acme-fast "))
    assert acme.split()[1:3] == ["acme", "3.1"]
    assert acme.endswith("backend 'acme_backend' failed to import: ImportError: libacme.so.3: "
                         "cannot open shared object file")  # fmt: skip
    assert "Traceback" not in out
    assert err == ""  # listed, not warned about as well


def test_debug_prints_the_tracebacks(
    installer: Installer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    installer.install("broken-plugin", "0.1", {}, {"broken": "no_such_module_here"})
    use(CodecManager(), monkeypatch)
    assert main(["codecs", "--debug"]) == 1
    out = capsys.readouterr().out
    assert "Traceback (most recent call last)" in out
    assert "ModuleNotFoundError: No module named 'no_such_module_here'" in out


def test_no_problem_no_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    manager = use(CodecManager(entry_points=False), monkeypatch)
    manager.register(rle, "rle")
    assert main(["codecs"]) == 0
    assert not capsys.readouterr().out.startswith("problem")


def test_syntax_shows_the_dispatch_order_with_priority_limits_and_backend(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    manager = use(CodecManager(entry_points=False), monkeypatch)
    slow = dataclasses.replace(RLE, name="rle-slow", priority=-3, encode=None)
    manager.register(Plugin(RLE, slow))
    picky = dataclasses.replace(
        RLE,
        name="rle-picky",
        modules=("nowhere_xyz",),
        requires=("nowhere-xyz>=1",),
        priority=7,
        encode_priority=-5,  # the last encoder: its rank there is what the table shows
    )
    manager.register(Plugin(picky))
    manager.prefer("rle-slow")
    assert main(["codecs", "--syntax", "RLELossless"]) == 0
    lines = capsys.readouterr().out.splitlines()
    numpy = f"numpy {importlib.metadata.version('numpy')}"
    assert lines[0] == "decode RLELossless (1.2.840.10008.1.2.5), in the order tried:"
    assert lines[1].split() == ["codec", "priority", "backend", "status", "limits"]
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines[2:5]]  # columns: 2+ spaces
    assert [row[:3] for row in rows] == [["1", "rle-slow", "-3"], ["2", "rle-picky", "7"],
                                         ["3", "rle", "0"]]  # fmt: skip
    assert rows[0][3:] == [numpy, "available", "bits 8/16/32/64, samples 1/3, signed, more checks"]
    assert rows[1][3:5] == ["nowhere-xyz (not installed)", 'pip install "nowhere-xyz>=1"']
    assert lines[5] == "encode RLELossless (1.2.840.10008.1.2.5), in the order tried:"
    assert [line.split()[1:3] for line in lines[7:]] == [["rle", "0"], ["rle-picky", "-5"]]


def test_an_unknown_syntax_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["codecs", "--syntax", "RLELosless"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dicomframe codecs: error: unknown transfer syntax 'RLELosless'")
    assert "RLELossless" in err


# -- choosing codecs -----------------------------------------------------------------------
@pytest.fixture
def calls() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def twins(monkeypatch: pytest.MonkeyPatch, calls: list[tuple[str, str]]) -> CodecManager:
    """The default manager with two counted RLE codecs: rle-a (priority 5) and rle-b."""
    manager = use(CodecManager(entry_points=False), monkeypatch)
    first = counted("rle-a", dataclasses.replace(RLE, priority=5), calls)
    manager.register(Plugin(first, counted("rle-b", RLE, calls)))
    return manager


@pytest.mark.parametrize(
    ("option", "encoder", "verifier"),
    [([], "rle-a", "rle-b"), (["--encoder", "rle-b"], "rle-b", "rle-a"),
     (["--codec", "rle-b"], "rle-b", "rle-a")],
)  # fmt: skip
def test_transcode_encodes_with_the_chosen_codec_and_verifies_with_another(
    twins: CodecManager,
    calls: list[tuple[str, str]],
    tmp_path: Path,
    option: list[str],
    encoder: str,
    verifier: str,
) -> None:
    src = TESTDATA / "mr_multiframe_uint16.dcm"
    frames = len(dcf.read(src).pixel_data)
    assert (
        main(["transcode", str(src), str(tmp_path / "o.dcm"), "--to", "RLELossless", *option]) == 0
    )
    assert calls == [(encoder, "encode"), (verifier, "decode")] * frames


def test_transcode_decodes_with_the_chosen_codec(
    twins: CodecManager, calls: list[tuple[str, str]], tmp_path: Path
) -> None:
    src = TESTDATA / "rle_multiframe.dcm"
    frames = len(dcf.read(src).pixel_data)
    out = tmp_path / "o.dcm"
    assert main(["transcode", str(src), str(out), "--to", "ExplicitVRLittleEndian",
                 "--decoder", "rle-b"]) == 0  # fmt: skip
    assert calls == [("rle-b", "decode")] * frames
    np.testing.assert_array_equal(dcf.read(out).pixel_array, dcf.read(src).pixel_array)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--to", "RLELossless", "--encoder", "rle-c"],
         "no codec named 'rle-c'; did you mean rle-b, rle-a?"),
        (["--to", "RLELossless", "--decoder", "rl-b"], "no codec named 'rl-b'; did you mean rle-b"),
        (["--to", "ExplicitVRLittleEndian", "--codec", "rle-a"],
         "--encoder/--codec rle-a: ExplicitVRLittleEndian is native, no codec encodes it"),
    ],
)  # fmt: skip
def test_transcode_refuses_a_choice_before_any_file(
    twins: CodecManager,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    option: list[str],
    message: str,
) -> None:
    src = TESTDATA / "rle_multiframe.dcm"
    assert main(["transcode", str(src), str(tmp_path / "o.dcm"), *option]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"dicomframe transcode: error: {message}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flag", ["--codec", "--decoder"])
def test_extract_decodes_with_the_chosen_codec_for_that_command_only(
    twins: CodecManager, calls: list[tuple[str, str]], tmp_path: Path, flag: str
) -> None:
    src = TESTDATA / "rle_multiframe.dcm"
    assert main(["extract", str(src), str(tmp_path / "f.png"), "--raw", flag, "rle-b"]) == 0
    assert calls == [("rle-b", "decode")]
    frame = dcf.read(src).pixel_data[0]
    assert isinstance(frame, EncapsulatedFrame)
    assert twins.decode_with(frame)[1] == "rle-a"  # the choice ended with the command


def test_extract_with_a_codec_that_cannot_decode_the_file_is_one_line(
    twins: CodecManager, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    twins.register(Plugin(dataclasses.replace(RLE, name="other", transfer_syntaxes=frozenset(
        {"1.2.840.10008.1.2.4.90"}))), "other")  # fmt: skip
    src = TESTDATA / "rle_multiframe.dcm"
    assert main(["extract", str(src), str(tmp_path / "f.png"), "--codec", "other"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dicomframe extract: error: codec 'other' does not decode RLELossless")
    assert "codecs that do: rle-a, rle-b" in err


# -- warnings ------------------------------------------------------------------------------
def test_a_plugin_warning_is_one_line_on_stderr(
    installer: Installer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    installer.install("broken-plugin", "0.1", {}, {"broken": "no_such_module_here"})
    use(CodecManager(), monkeypatch)
    src = TESTDATA / "rle_multiframe.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside the test suite, which makes them errors
        assert main(["extract", str(src), str(tmp_path / "f.png"), "--debug"]) == 0
    err = capsys.readouterr().err
    first, *rest = err.splitlines()
    assert first == (
        "dicomframe extract: warning: plugin 'broken' (broken-plugin 0.1): failed to load: "
        "ModuleNotFoundError: No module named 'no_such_module_here'"
    )
    assert rest[0] == "Traceback (most recent call last):"  # --debug: the error behind it
