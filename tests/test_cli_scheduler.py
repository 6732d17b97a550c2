"""``--scheduler`` and ``--manifest`` of ``dicomframe transcode`` and ``dicomframe deidentify``.

The commands connect to a LocalCluster's scheduler (two worker processes on
this machine, one for the module) as they would to a remote one; their
outputs are compared byte for byte with the local pool's, and the manifest
names the cluster's workers.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dicomframe import cluster as dask_engine
from dicomframe.cli import main
from tests.reference import TESTDATA
from tests.test_cli_deidentify import salt_file, tree  # noqa: F401 - fixtures
from tests.test_cli_deidentify import summary as deid_summary
from tests.test_cli_transcode import summary
from tests.test_cluster import local_cluster

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scheduler() -> Iterator[tuple[str, dict[str, int]]]:
    """The scheduler's address, and each worker's process id by its address."""
    with local_cluster() as client:
        yield client.scheduler.address, dict(client.run(os.getpid))


@pytest.fixture
def scans(tmp_path: Path) -> Path:
    """Twelve small DICOM files, a corrupt one and a text file."""
    root = tmp_path / "scans"
    (root / "b").mkdir(parents=True)
    for index in range(6):
        shutil.copy(TESTDATA / "ct_explicit_le.dcm", root / f"ct{index}.dcm")
        shutil.copy(TESTDATA / "rgb_planar0.dcm", root / "b" / f"rgb{index}.dcm")
    (root / "b" / "cut.dcm").write_bytes((TESTDATA / "ct_explicit_le.dcm").read_bytes()[:500])
    (root / "notes.txt").write_text("not DICOM\n")
    return root


def contents(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def manifest(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(autouse=True)
def no_scheduler_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DICOMFRAME_SCHEDULER", raising=False)


def transcode(src: Path, dst: Path, *extra: object) -> int:
    return main(["transcode", str(src), str(dst), "--to", "RLELossless", *map(str, extra)])


def test_transcode_on_the_cluster(
    scheduler: tuple[str, dict[str, int]],
    scans: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    address, pids = scheduler
    record = tmp_path / "m.jsonl"
    assert transcode(scans, tmp_path / "dask", "--scheduler", address, "--manifest", record) == 1
    out, err = capsys.readouterr()
    assert summary(out) == (12, 1, 1, 0, 0)
    assert err.startswith(f"dicomframe transcode: {scans / 'b' / 'cut.dcm'}: InvalidDicomError")
    assert len(err.splitlines()) == 1
    assert transcode(scans, tmp_path / "local", "--workers", "2") == 1
    capsys.readouterr()
    assert contents(tmp_path / "dask") == contents(tmp_path / "local")
    lines = manifest(record)
    assert len(lines) == 14
    done = [line for line in lines if line["status"] == "ok"]
    assert len(done) == 12
    assert {line["worker"] for line in done} <= set(pids)
    assert all(line["pid"] == pids[line["worker"]] for line in done)
    # Again: everything verified is kept, nothing converted.
    assert transcode(scans, tmp_path / "dask", "--scheduler", address, "--manifest", record) == 1
    assert summary(capsys.readouterr().out) == (0, 1, 1, 0, 12)
    assert [line["status"] for line in manifest(record)].count("skipped") == 13


def test_the_scheduler_from_the_environment(
    scheduler: tuple[str, dict[str, int]],
    scans: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    address, pids = scheduler
    monkeypatch.setenv("DICOMFRAME_SCHEDULER", address)
    record = tmp_path / "m.jsonl"
    assert transcode(scans / "ct0.dcm", tmp_path / "one.dcm", "--manifest", record) == 0
    assert summary(capsys.readouterr().out) == (1, 0, 0, 0, 0)
    (line,) = manifest(record)
    assert line["worker"] in pids
    assert line["pid"] == pids[line["worker"]] != os.getpid()


def test_deidentify_on_the_cluster(
    scheduler: tuple[str, dict[str, int]],
    tree: Path,  # noqa: F811 - the fixture
    salt_file: Path,  # noqa: F811 - the fixture
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    address, pids = scheduler
    common = ["--salt-file", str(salt_file)]
    dask_args = [*common, "--scheduler", address, "--manifest", str(tmp_path / "m.jsonl")]
    dask_args += ["--report", str(tmp_path / "dask.csv")]
    assert main(["deidentify", str(tree), str(tmp_path / "dask"), *dask_args]) == 1
    dask_out = capsys.readouterr().out
    local_args = [*common, "--workers", "2", "--report", str(tmp_path / "local.csv")]
    assert main(["deidentify", str(tree), str(tmp_path / "local"), *local_args]) == 1
    assert deid_summary(dask_out)[:4] == deid_summary(capsys.readouterr().out)[:4]
    assert contents(tmp_path / "dask") == contents(tmp_path / "local")
    report = sorted((tmp_path / "dask.csv").read_text().splitlines())
    assert report == sorted((tmp_path / "local.csv").read_text().splitlines())
    done = [line for line in manifest(tmp_path / "m.jsonl") if line["status"] == "ok"]
    assert done
    assert {line["worker"] for line in done} <= set(pids)


def test_no_scheduler_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(dask_engine, "CONNECT_TIMEOUT", 1.0)
    src = TESTDATA / "ct_explicit_le.dcm"
    assert transcode(src, tmp_path / "o.dcm", "--scheduler", "tcp://127.0.0.1:9") == 1
    err = capsys.readouterr().err
    assert err == (
        "dicomframe transcode: error: cannot reach the scheduler at tcp://127.0.0.1:9: "
        "Connection refused\n"
    )
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "o.dcm").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scheduler", "127.0.0.1:8786"], "give the scheduler's address, tcp://HOST:PORT"),
        (
            ["--scheduler", "tcp://127.0.0.1:9", "--workers", "2"],
            "the cluster's workers convert the files",
        ),
        (["--workers", "0"], "--workers must be at least 1, not 0"),
    ],
)
@pytest.mark.parametrize("command", ["transcode", "deidentify"])
def test_refused_before_any_file(
    command: str,
    extra: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    src = TESTDATA / "ct_explicit_le.dcm"
    arguments = [command, str(src), str(tmp_path / "o.dcm"), *extra]
    arguments += ["--to", "RLELossless"] if command == "transcode" else []
    assert main(arguments) == 1
    err = capsys.readouterr().err
    assert err.endswith(f"{message}\n")
    assert err.startswith(f"dicomframe {command}: error: ")
    assert not (tmp_path / "o.dcm").exists()


@pytest.mark.parametrize("command", ["transcode", "deidentify"])
def test_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    assert "--scheduler ADDRESS" in out
    assert "DICOMFRAME_SCHEDULER" in out
    assert "--manifest FILE" in out
