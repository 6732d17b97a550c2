"""dicomframe.cluster: the tree engine on a real Dask cluster (two worker processes, here).

One LocalCluster serves the module (starting one costs seconds on a shared
machine). Results are compared byte for byte with the local pool's, decoded
by pydicom against its own reading of the sources, and the engine that ran
is told by the workers' addresses and process ids, not by the outputs alone.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dicomframe import batch
from dicomframe.batch import run, run_jobs
from dicomframe.batch_work import Outcome, sha256_of
from dicomframe.cluster import ATTEMPTS
from dicomframe.manifest import read_manifest
from tests.reference import TESTDATA, pydicom_files

distributed = pytest.importorskip("distributed")

RLE = "1.2.840.10008.1.2.5"
PYDICOM = {p.name: p for p in pydicom_files()}


@contextlib.contextmanager
def local_cluster() -> Iterator[Any]:
    """A LocalCluster of two worker processes, and its client; no thread of Dask's stays after.

    distributed keeps an offload thread for the life of the process, and
    dicomframe does not fork a process that runs other threads
    (``dicomframe.parallel``): the tests after these, in the same session,
    fork. So that thread's pool is shut down, and a new one, without a thread
    until it is used, put in its place.
    """
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as dask_client,
    ):
        yield dask_client
    utils = distributed.utils
    utils._offload_executor.shutdown(wait=True)
    utils._offload_executor = ThreadPoolExecutor(1, "Dask-Offload")
    for _ in range(100):  # the client's event loop thread ends on its own, soon
        if threading.active_count() == 1:
            break
        time.sleep(0.05)
    assert [thread.name for thread in threading.enumerate()] == ["MainThread"]


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with local_cluster() as dask_client:
        yield dask_client


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """24 files: pydicom's and ours, at two depths; a corrupt file and a text file."""
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    for name in ("CT_small.dcm", "MR_small.dcm"):
        shutil.copy(PYDICOM[name], root / name)
    for name in ("ct_explicit_le.dcm", "mr_multiframe_uint16.dcm", "rgb_planar1.dcm"):
        shutil.copy(TESTDATA / name, root / "sub" / name)
    for index in range(18):
        shutil.copy(PYDICOM["CT_small.dcm"], root / "sub" / f"ct{index:02d}.dcm")
    (root / "sub" / "corrupt.dcm").write_bytes(PYDICOM["CT_small.dcm"].read_bytes()[:600])
    (root / "notes.txt").write_text("not DICOM\n")
    return root


def outputs(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, hidden ones (temporaries, markers) included, by relative name."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def manifest(path: Path) -> dict[str, dict[str, Any]]:
    """The manifest's lines by the input's file name."""
    return {Path(record.input).name: asdict(record) for record in read_manifest(path)}


def worker_pids(client: Any) -> dict[str, int]:
    return dict(client.run(os.getpid))


def test_same_bytes_as_the_local_pool(client: Any, tree: Path, tmp_path: Path) -> None:
    local = run(tree, tmp_path / "local", RLE, workers=2, manifest=tmp_path / "local.jsonl")
    progress = io.StringIO()
    dask = run(
        tree,
        tmp_path / "dask",
        RLE,
        executor=client,
        manifest=tmp_path / "dask.jsonl",
        progress=progress,
    )
    bars = progress.getvalue().split("\r")[1:]
    assert len(bars) == 24  # one redraw per file, as results come back
    assert bars[-1] == "[" + "#" * 30 + "] 24/24 files, 1 failed\n"
    assert (dask.converted, [p.name for p, _ in dask.failed]) == (23, ["corrupt.dcm"])
    assert dask.failed[0][1].startswith("InvalidDicomError: ")
    assert [(p.name, why) for p, why in dask.skipped] == [("notes.txt", "not DICOM")]
    written = outputs(tmp_path / "dask")
    assert written == outputs(tmp_path / "local")  # byte for byte, and no stray file
    # The cluster's workers converted them: their addresses and process ids, not this one's.
    pids = worker_pids(client)
    assert set(dask.ran_on) <= set(pids)
    assert sum(dask.ran_on.values()) == 23
    assert dask.workers == len(dask.ran_on) >= 1
    assert all(key.startswith("pid ") for key in local.ran_on)
    lines = manifest(tmp_path / "dask.jsonl")
    assert len(lines) == 25  # one per input
    for name, line in lines.items():
        if line["status"] == "ok":
            assert line["pid"] == pids[line["worker"]] != os.getpid()
            assert line["sha256"] == sha256_of(line["output"])
            assert line["bytes_out"] == len(Path(line["output"]).read_bytes())
        else:
            assert (name, line["status"]) in {("corrupt.dcm", "failed"), ("notes.txt", "skipped")}


def test_outputs_decode_as_pydicom_reads_the_sources(
    client: Any, tree: Path, tmp_path: Path
) -> None:
    pydicom = pytest.importorskip("pydicom")
    out = tmp_path / "out"
    run(tree, out, RLE, executor=client)
    for name in ("CT_small.dcm", "MR_small.dcm", "sub/ct_explicit_le.dcm", "sub/rgb_planar1.dcm"):
        converted = pydicom.dcmread(out / name)
        assert converted.file_meta.TransferSyntaxUID == RLE
        original = pydicom.dcmread(tree / name)
        np.testing.assert_array_equal(converted.pixel_array, original.pixel_array)


def dies_once(source: str, target: str, *, victim: str, flag: str) -> Outcome:
    """A job whose worker process dies the first time it meets ``victim``, mid-write."""
    if source.endswith(victim) and not os.path.exists(flag):
        Path(flag).write_text(str(os.getpid()))
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).with_name(f".{Path(target).name}.x1y2z3.tmp").write_bytes(b"half a file")
        os._exit(3)  # a backend that takes its process down, leaving its temporary file
    return batch._transcode_job(source, target, syntax=RLE, options={"workers": 1})


def dies_always(source: str, target: str, *, victim: str, log: str) -> Outcome:
    """A job whose worker process dies every time it meets ``victim``."""
    if source.endswith(victim):
        with open(log, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        os._exit(3)
    return batch._transcode_job(source, target, syntax=RLE, options={"workers": 1})


def test_a_worker_that_dies_loses_no_file(client: Any, tree: Path, tmp_path: Path) -> None:
    flag = tmp_path / "died"
    job = partial(dies_once, victim="ct07.dcm", flag=str(flag))
    result = run_jobs(tree, tmp_path / "out", job, executor=client, manifest=tmp_path / "m.jsonl")
    assert flag.exists()  # a worker did die
    assert (result.converted, [p.name for p, _ in result.failed]) == (23, ["corrupt.dcm"])
    expected = tmp_path / "expected"
    run(tree, expected, RLE)
    assert outputs(tmp_path / "out") == outputs(expected)  # no temporary file, no marker left
    line = manifest(tmp_path / "m.jsonl")["ct07.dcm"]
    assert line["status"] == "ok"
    assert line["pid"] != int(flag.read_text())  # another process converted it
    assert line["pid"] in worker_pids(client).values()


class _LostFuture:
    """A batch whose worker died after finishing it: "lost", no error, run again on result()."""

    status = "lost"

    def __init__(self, work: Any, args: tuple[Any, ...]) -> None:
        self.work, self.args = work, args

    def exception(self) -> None:
        return None

    def result(self) -> Any:  # the scheduler computes it again, elsewhere
        return self.work(*self.args)


def test_a_batch_whose_result_was_lost_is_waited_for_not_failed(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dicomframe import cluster

    class Client:
        def submit(self, work: Any, *args: Any, **_: Any) -> _LostFuture:
            return _LostFuture(work, args)

        def nthreads(self) -> dict[str, int]:
            return {"tcp://127.0.0.1:1": 1}

    class Worker:
        address = "tcp://127.0.0.1:1"

    class Completed(list[Any]):
        def add(self, future: Any) -> None:
            self.append(future)

    fake = type("Dask", (), {"as_completed": Completed, "get_worker": staticmethod(Worker)})
    monkeypatch.setattr(cluster, "_dask", fake)
    pairs = [(tree / "sub" / f"ct{i:02d}.dcm", tmp_path / f"ct{i:02d}.dcm") for i in range(3)]
    job = partial(batch._transcode_job, syntax=RLE, options={"workers": 1})
    finished: list[Any] = []
    cluster.run_on_cluster(Client(), pairs, job, lambda *a: finished.append(a), digest=False)
    assert [(source, done.outcome.error) for source, _, done in finished] == [
        (source, None) for source, _ in pairs
    ]
    assert all(target.exists() for _, target in pairs)


def test_a_file_that_kills_every_worker_fails_after_two_attempts(
    client: Any, tree: Path, tmp_path: Path
) -> None:
    log = tmp_path / "deaths"
    job = partial(dies_always, victim="ct03.dcm", log=str(log))
    reported: list[tuple[Path, str]] = []
    result = run_jobs(
        tree,
        tmp_path / "out",
        job,
        executor=client,
        manifest=tmp_path / "m.jsonl",
        report=lambda path, error: reported.append((path, error)),
    )
    assert len(log.read_text().splitlines()) == ATTEMPTS == 2
    failed = {p.name: why for p, why in result.failed}
    assert sorted(failed) == ["corrupt.dcm", "ct03.dcm"]
    assert failed["ct03.dcm"] == "KilledWorker: the worker converting it died, 2 times"
    assert reported == result.failed
    assert result.converted == 22
    names = set(outputs(tmp_path / "out"))
    assert "sub/ct03.dcm" not in names
    assert not any(n.split("/")[-1].startswith(".") for n in names)
    assert manifest(tmp_path / "m.jsonl")["ct03.dcm"]["status"] == "failed"


def test_a_task_the_scheduler_gives_up_on_is_sent_again(
    client: Any, tree: Path, tmp_path: Path
) -> None:
    """With no failure allowed, the scheduler fails a task at its first death: it is sent again."""

    def allowed(dask_scheduler: Any, value: int) -> int:
        before: int = dask_scheduler.allowed_failures
        dask_scheduler.allowed_failures = value
        return before

    before = client.run_on_scheduler(allowed, value=0)
    try:
        flag = tmp_path / "died"
        job = partial(dies_once, victim="ct11.dcm", flag=str(flag))
        result = run_jobs(tree, tmp_path / "out", job, executor=client)
    finally:
        client.run_on_scheduler(allowed, value=before)
    assert flag.exists()
    assert (result.converted, [p.name for p, _ in result.failed]) == (23, ["corrupt.dcm"])
    assert not [n for n in outputs(tmp_path / "out") if n.split("/")[-1].startswith(".")]


def test_a_rerun_skips_what_is_done(client: Any, tree: Path, tmp_path: Path) -> None:
    out, record = tmp_path / "out", tmp_path / "m.jsonl"
    first = run(tree, out, RLE, executor=client, manifest=record)
    before = outputs(out)
    again = run(tree, out, RLE, executor=client, manifest=record)
    assert (again.converted, len(again.existing), again.ran_on) == (0, 23, {})
    assert outputs(out) == before
    lines = manifest(record)
    kept = [line for line in lines.values() if line["status"] == "skipped" and line["sha256"]]
    assert len(kept) == first.converted == 23
    assert all(line["sha256"] == sha256_of(line["output"]) for line in kept)
    assert lines["corrupt.dcm"]["status"] == "failed"  # tried again, and failed again


def test_dask_is_not_imported_unless_used(tree: Path, tmp_path: Path) -> None:
    code = f"""
import sys
import dicomframe
from pathlib import Path
from dicomframe.batch import run
from dicomframe.cli import main
assert not [m for m in sys.modules if m.split(".")[0] in ("dask", "distributed")], "import"
result = run(Path({str(tree)!r}), Path({str(tmp_path / "a")!r}), {RLE!r}, workers=2)
assert result.converted == 23, result.failed
main(["transcode", {str(tree)!r}, {str(tmp_path / "b")!r}, "--to", "RLELossless"])
found = [m for m in sys.modules if m.split(".")[0] in ("dask", "distributed")]
assert not found, found
"""
    env = {k: v for k, v in os.environ.items() if k != "DICOMFRAME_SCHEDULER"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env
    )
    assert done.returncode == 0, done.stderr
