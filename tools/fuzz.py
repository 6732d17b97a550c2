"""Long-run fuzzing of dicomframe: whatever the input, only a DicomError may escape.

Usage (more in docs/fuzzing.md)::

    python tools/fuzz.py --time 1800 --jobs 2           # structure-aware mutation, 30 minutes
    python tools/fuzz.py --engine atheris --time 1800   # coverage-guided (pip install atheris)
    python tools/fuzz.py --replay tests/data/crashers/0123456789abcdef.dcm
    python tools/fuzz.py --replay ct_explicit_le.dcm length,vr 12345   # a fuzz test's recipe

Inputs are seed files (testdata/ and pydicom's) changed by the structure-aware
mutators of ``tests/fuzz/`` and run through ``tests.fuzz.harness.exercise``:
read, iter_elements, str, every value, pixel_array, each frame, each codec that
claims the syntax, get_image (kept and display) and write. Each new escape,
deduplicated by exception type and innermost dicomframe frame, is minimised and
written to ``--out`` as ``<hash>.dcm`` with a one-line ``<hash>.txt``. A worker
that dies (a native crash, memory exhausted) or hangs is recorded the same way,
with the signal and the operation it was in; inputs slower than ``--slow``
seconds go to ``<out>/slow/``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_OUT = ROOT / "tests" / "data" / "crashers"
POOL_SIZE = 256  # inputs that read cleanly, mutated again (they reach the pixel code)
MAX_SLOW_SAVED = 20


@dataclass
class Finding:
    """A new way to break the contract: its signature, a one-line note and the input."""

    signature: str
    note: str
    data: bytes
    kind: str = "escape"  # "escape", "died", "hang" or "slow"


@dataclass
class Summary:
    runs: int = 0
    seconds: float = 0.0
    counts: Counter[str] = field(default_factory=Counter)
    findings: dict[str, Finding] = field(default_factory=dict)
    slow: list[Finding] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        if finding.kind == "slow":
            if len(self.slow) < MAX_SLOW_SAVED:
                self.slow.append(finding)
            return
        self.findings.setdefault(finding.signature, finding)


def _digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:16]


def known_signatures(out: Path) -> set[str]:
    """The signatures of the crashers already in ``out`` (first field of each note)."""
    return {p.read_text().split(" | ")[0].strip() for p in out.glob("*.txt")}


# --- the mutation engine: worker processes, supervised -------------------------------------


@dataclass(frozen=True)
class _Job:
    """What one worker process is asked to do."""

    index: int
    seed: int
    until: float
    runs: int | None
    long_run: bool
    slow: float
    stage: str
    memory: int


def _worker(job: _Job, queue: Any, state: Any) -> None:
    """Mutate and run inputs until ``job.until``; report findings and counts on ``queue``."""
    index, stage, slow, runs = job.index, job.stage, job.slow, job.runs
    log = os.open(os.path.join(stage, f"worker-{index}.log"), os.O_WRONLY | os.O_CREAT, 0o644)
    os.dup2(log, 2)  # backend noise (Rust panics, codec warnings) out of the terminal
    from tests.fuzz import harness
    from tests.fuzz.harness import OPERATIONS, exercise, seeds
    from tests.fuzz.mutators import LONG_RUN_MUTATORS, MUTATORS, mutate

    harness.GUARD_HEADROOM = job.memory

    rnd = random.Random(job.seed)
    corpus = [doc for _, doc in seeds(long_run=job.long_run)]
    names = list(LONG_RUN_MUTATORS if job.long_run else MUTATORS)
    pool: list[Any] = []
    current = Path(stage) / f"current-{index}.dcm"
    seen: set[str] = set()
    counts: Counter[str] = Counter()
    done, reported, slow_sent = 0, time.monotonic(), 0

    def trace(operation: str) -> None:
        state[1] = OPERATIONS.index(operation)

    while time.time() < job.until and (runs is None or done < runs):
        base = rnd.choice(pool) if pool and rnd.random() < 0.25 else rnd.choice(corpus)
        doc = mutate(base, [rnd.choice(names) for _ in range(rnd.randint(1, 3))], rnd)
        data = doc.encode()
        current.write_bytes(data)
        timings: dict[str, float] = {}
        state[0] = time.time()
        path = current if rnd.random() < 0.25 else None  # a quarter read mapped from the file
        escapes = exercise(data, path=path, timings=timings, trace=trace)
        state[0] = 0.0
        done += 1
        if "str" in timings and len(pool) < POOL_SIZE:
            pool.append(doc)
        elif "str" in timings:
            pool[rnd.randrange(POOL_SIZE)] = doc
        for escape in escapes:
            counts[escape.signature] += 1
            if escape.signature not in seen:
                seen.add(escape.signature)
                note = f"{escape.signature} | {escape.operation} | {escape.message}"
                queue.put(("finding", Finding(escape.signature, note, data)))
        total = sum(timings.values())
        if total > slow and slow_sent < MAX_SLOW_SAVED:
            slowest = max(timings, key=timings.__getitem__)
            note = f"slow {total:.1f} s | {slowest} {timings[slowest]:.1f} s"
            queue.put(("finding", Finding(f"slow in {slowest}", note, data, "slow")))
            slow_sent += 1
        if time.monotonic() - reported > 5:
            queue.put(("stats", index, done, dict(counts)))
            reported = time.monotonic()
    queue.put(("stats", index, done, dict(counts)))
    queue.put(("done", index))


@dataclass
class _Slot:
    process: Any
    state: Any
    runs: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    done: bool = False


class _Supervisor:
    """Runs the workers; a dead or hung worker's input is a finding and the worker restarts."""

    def __init__(self, args: argparse.Namespace, stage: Path, summary: Summary) -> None:
        self.args, self.stage, self.summary = args, stage, summary
        self.ctx = multiprocessing.get_context("spawn")
        self.queue = self.ctx.Queue()
        self.until = time.time() + args.time
        self.slots: dict[int, _Slot] = {}
        self.spawned = 0
        self.finished: list[_Slot] = []

    def start(self, index: int) -> None:
        state = self.ctx.Array("d", 2, lock=False)
        seed = self.args.seed * 1000 + self.spawned
        self.spawned += 1
        runs = None if self.args.runs is None else self.args.runs // self.args.jobs
        args = self.args
        memory = args.memory << 20
        job = _Job(index, seed, self.until, runs, args.long_run, args.slow, str(self.stage), memory)
        process = self.ctx.Process(target=_worker, args=(job, self.queue, state), daemon=True)
        process.start()
        self.slots[index] = _Slot(process, state)

    def _lost(self, index: int, why: str) -> None:
        """Record the input worker ``index`` was running when it died or hung."""
        from tests.fuzz.harness import OPERATIONS

        slot = self.slots[index]
        operation = OPERATIONS[int(slot.state[1])]
        current = self.stage / f"current-{index}.dcm"
        data = current.read_bytes() if current.exists() else b""
        signature = f"{why} during {operation}"
        kind = "hang" if why.startswith("hang") else "died"
        note = f"{signature} | {operation} | the input the worker was running"
        self.summary.add(Finding(signature, note, data, kind))
        self.summary.counts[signature] += 1
        self.finished.append(slot)
        if time.time() < self.until - 1:
            self.start(index)
        else:
            del self.slots[index]

    def _receive(self) -> None:
        try:
            message = self.queue.get(timeout=0.5)
        except Exception:  # queue.Empty, or a worker killed while it was sending
            return
        if message[0] == "finding":
            self.summary.add(message[1])
        elif message[0] == "stats" and message[1] in self.slots:
            self.slots[message[1]].runs, self.slots[message[1]].counts = message[2], message[3]
        elif message[0] == "done" and message[1] in self.slots:
            self.slots[message[1]].done = True

    def _check(self, index: int, slot: _Slot) -> None:
        code = slot.process.exitcode
        if code is not None and not slot.done:
            why = signal.Signals(-code).name if code < 0 else f"exit status {code}"
            self._lost(index, f"process died ({why})")
        elif slot.state[0] and time.time() - slot.state[0] > self.args.hang:
            slot.process.kill()
            slot.process.join()
            self._lost(index, f"hang (over {self.args.hang:.0f} s)")

    def run(self) -> None:
        for index in range(self.args.jobs):
            self.start(index)
        while any(not s.done for s in self.slots.values()):
            self._receive()
            for index, slot in list(self.slots.items()):
                self._check(index, slot)
        while not self.queue.empty():
            self._receive()
        for slot in [*self.finished, *self.slots.values()]:
            self.summary.runs += slot.runs
            self.summary.counts.update(slot.counts)


# --- the atheris engine: libFuzzer's coverage guidance, our mutators -----------------------


def _atheris_child(stage: Path, seconds: int, seed: int, long_run: bool, memory: int) -> None:
    """Run libFuzzer in this process; findings and stats go to files in ``stage``.

    libFuzzer reserves address space of its own, so the harness's address-space
    guard does not hold here: ``-rss_limit_mb`` (``memory`` MiB) stops a run
    whose memory runs away, and the input is kept as an ``oom-*`` artifact.
    """
    import atheris

    with atheris.instrument_imports(include=["dicomframe"]):
        import dicomframe  # noqa: F401 - instrumented for coverage before anything imports it
    from tests.fuzz.harness import exercise, seeds
    from tests.fuzz.layout import doc_from_bytes
    from tests.fuzz.mutators import LONG_RUN_MUTATORS, MUTATORS, mutate

    corpus = stage / "corpus"
    corpus.mkdir(exist_ok=True)
    for name, doc in seeds(long_run=long_run):
        (corpus / name).write_bytes(doc.encode())
    names = list(LONG_RUN_MUTATORS if long_run else MUTATORS)
    counts: Counter[str] = Counter()
    seen: set[str] = set()
    runs = [0, time.monotonic()]

    def one_input(data: bytes) -> None:
        for escape in exercise(data):
            counts[escape.signature] += 1
            if escape.signature not in seen:
                seen.add(escape.signature)
                note = f"{escape.signature} | {escape.operation} | {escape.message}"
                (stage / f"escape-{_digest(data)}.dcm").write_bytes(data)
                (stage / f"escape-{_digest(data)}.txt").write_text(note + "\n")
        runs[0] += 1
        if time.monotonic() - runs[1] > 5:
            (stage / "stats.json").write_text(json.dumps({"runs": runs[0], "counts": counts}))
            runs[1] = time.monotonic()

    def custom_mutator(data: bytes, max_size: int, mutation_seed: int) -> bytes:
        rnd = random.Random(mutation_seed)
        if rnd.random() < 0.2:
            return atheris.Mutate(data, max_size)
        doc = mutate(
            doc_from_bytes(data), [rnd.choice(names) for _ in range(rnd.randint(1, 2))], rnd
        )
        return doc.encode()[:max_size]

    flags = [
        f"-max_total_time={seconds}",
        f"-seed={seed}",
        f"-rss_limit_mb={memory}",
        "-timeout=120",
    ]
    flags += [f"-artifact_prefix={stage}/", "-max_len=65536", "-print_final_stats=1"]
    atheris.Setup([sys.argv[0], *flags, str(corpus)], one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


def _run_atheris(args: argparse.Namespace, stage: Path, summary: Summary) -> None:
    children = []
    for job in range(args.jobs):
        work = stage / f"job-{job}"
        work.mkdir()
        command = [sys.executable, __file__, "--atheris-child", str(work)]
        command += ["--time", str(args.time), "--seed", str(args.seed * 1000 + job)]
        command += ["--memory", str(args.memory + 1024)]
        command += ["--long-run"] if args.long_run else []
        with (work / "log").open("wb") as log:
            children.append((work, subprocess.Popen(command, stdout=log, stderr=log)))
    for work, child in children:
        child.wait()
        stats = (
            json.loads((work / "stats.json").read_text()) if (work / "stats.json").exists() else {}
        )
        summary.runs += stats.get("runs", 0)
        summary.counts.update(stats.get("counts", {}))
        for note_file in sorted(work.glob("escape-*.txt")):
            note = note_file.read_text().strip()
            data = note_file.with_suffix(".dcm").read_bytes()
            summary.add(Finding(note.split(" | ")[0], note, data))
        for artifact in sorted(work.glob("*-*")):
            kind = artifact.name.split("-")[0]
            if kind in ("crash", "oom", "timeout", "leak"):
                signature = f"libFuzzer {kind} (see {work / 'log'})"
                summary.add(
                    Finding(signature, f"{signature} | native", artifact.read_bytes(), "died")
                )


# --- results ------------------------------------------------------------------------------


def _minimise_job(data: bytes, signature: str, result: str) -> None:
    from tests.fuzz.harness import exercise
    from tests.fuzz.minimise import minimise

    def still_fails(candidate: bytes) -> bool:
        return any(e.signature == signature for e in exercise(candidate))

    Path(result).write_bytes(minimise(data, still_fails))


def _minimised(finding: Finding, stage: Path, timeout: float) -> bytes:
    """The finding's input minimised in a child process (which may crash), else as found."""
    if finding.kind != "escape":
        return finding.data
    result = stage / f"minimised-{_digest(finding.data)}.dcm"
    ctx = multiprocessing.get_context("spawn")
    job = ctx.Process(target=_minimise_job, args=(finding.data, finding.signature, str(result)))
    job.start()
    job.join(timeout)
    if job.is_alive():
        job.kill()
        job.join()
    return result.read_bytes() if job.exitcode == 0 and result.exists() else finding.data


def _save(summary: Summary, args: argparse.Namespace, stage: Path) -> list[tuple[str, Path]]:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    known = known_signatures(out)
    saved = []
    for signature, finding in sorted(summary.findings.items()):
        if signature in known:
            continue
        data = _minimised(finding, stage, args.minimise_timeout) if args.minimise else finding.data
        path = out / f"{_digest(data)}.dcm"
        path.write_bytes(data)
        path.with_suffix(".txt").write_text(finding.note + "\n")
        saved.append((signature, path))
    for finding in summary.slow:
        (out / "slow").mkdir(exist_ok=True)
        path = out / "slow" / f"{_digest(finding.data)}.dcm"
        path.write_bytes(finding.data)
        path.with_suffix(".txt").write_text(finding.note + "\n")
    return saved


def _report(summary: Summary, saved: list[tuple[str, Path]], args: argparse.Namespace) -> None:
    rate = summary.runs / summary.seconds if summary.seconds else 0.0
    print(
        f"\n{summary.runs} inputs in {summary.seconds:.0f} s ({rate:.1f}/s), engine {args.engine}"
    )
    counts = Counter(summary.counts)
    counts.update(dict.fromkeys(summary.findings, 0))  # found, though no count arrived
    if not counts:
        print("no escapes: every exception was a DicomError")
    paths = dict(saved)
    for signature, count in counts.most_common():
        where = paths.get(signature)
        status = (
            f"new: {where.relative_to(ROOT) if where.is_relative_to(ROOT) else where}"
            if where
            else "known"
        )
        print(f"{count:8d}  {signature}\n          {status}")
    if summary.slow:
        print(f"{len(summary.slow)} slow inputs (over {args.slow:.0f} s) in {args.out / 'slow'}")


# --- replay and the command line ----------------------------------------------------------


def replay(arguments: list[str]) -> int:
    """Run one input (a file, or a fuzz test's recipe: SEED MUTATORS RNG) and show escapes."""
    from tests.fuzz.harness import Case, exercise

    if len(arguments) == 3:
        data = Case(arguments[0], tuple(arguments[1].split(",")), int(arguments[2])).data()
    else:
        data = Path(arguments[0]).read_bytes()
    timings: dict[str, float] = {}
    escapes = exercise(data, timings=timings)
    print("  ".join(f"{op} {seconds * 1000:.0f} ms" for op, seconds in timings.items()))
    for escape in escapes:
        print(f"\n{escape.describe()}")
        traceback.print_exception(escape.error)
    return 1 if escapes else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--time", type=int, default=600, help="seconds to run (default 600)")
    parser.add_argument("--runs", type=int, help="stop after this many inputs (mutate engine)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--engine", choices=("mutate", "atheris"), default="mutate")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="for a repeatable run")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where crashers are written")
    parser.add_argument("--slow", type=float, default=10.0, help="record inputs slower than this")
    parser.add_argument("--hang", type=float, default=180.0, help="kill a worker stuck this long")
    parser.add_argument(
        "--long-run",
        action="store_true",
        help="also large seeds, slow mutators and values known to end the process",
    )
    parser.add_argument(
        "--memory", type=int, default=4096, help="MiB of address space one input may add"
    )
    parser.add_argument("--no-minimise", dest="minimise", action="store_false")
    parser.add_argument("--minimise-timeout", type=float, default=120.0)
    parser.add_argument("--replay", nargs="+", metavar="FILE | SEED MUTATORS RNG")
    parser.add_argument("--atheris-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("RUST_BACKTRACE", "0")
    if args.replay:
        return replay(args.replay)
    if args.atheris_child:
        _atheris_child(args.atheris_child, args.time, args.seed, args.long_run, args.memory)
        return 0
    summary = Summary()
    started = time.monotonic()
    stage = Path(tempfile.mkdtemp(prefix="dicomframe-fuzz-"))  # kept: the workers' logs
    print(f"fuzzing for {args.time} s with {args.jobs} jobs, seed {args.seed}, logs in {stage}")
    if args.engine == "atheris":
        _run_atheris(args, stage, summary)
    else:
        _Supervisor(args, stage, summary).run()
    summary.seconds = time.monotonic() - started
    saved = _save(summary, args, stage)
    _report(summary, saved, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
