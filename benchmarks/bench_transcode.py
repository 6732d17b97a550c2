"""Transcoding benchmarks: streaming a large file, a tree of files, JPEG 2000, the CLI tools.

Run:  python benchmarks/bench_transcode.py [--gigabytes 2] [--files 1000] [--runs 5]
                                           [--ct-frames 200] [--sections 1,2,3,4]

(1) Streaming: a generated native multi-frame file (512x512 uint16 frames,
    about --gigabytes in size) is transcoded to RLE Lossless with
    ``dcf.transcode_file`` and, side by side, with pydicom (``dcmread``,
    ``compress(RLELossless, encoding_plugin="pylibjpeg")``, ``save_as``), each in
    a fresh process. Reported: wall time and peak resident memory (VmHWM).
(2) A tree of --files small files (copies of testdata/ct_explicit_le.dcm)
    converted by ``dicomframe transcode --to RLELossless`` with --workers 1
    and --workers 2, each in a fresh process, the best of --runs runs (the two
    taking turns); the speed-up, and that one corrupt file among them is
    reported while the others convert. ``--gigabytes 0`` runs (2) only.
(3) JPEG 2000 Lossless side by side with pydicom, in this process: --ct-frames
    512x512 int16 CT frames (a body with a moving bone ring and noise, sigma 12),
    read from a native file and compressed in memory. pydicom: ``dcmread`` +
    ``compress(JPEG2000Lossless, encoding_plugin="pylibjpeg")``; dicomframe:
    ``dcf.read`` + ``dcf.transcode`` with ``verify`` on (the default for a
    lossless target: each frame decoded again by another codec, right after its
    encoding, on the same worker) and off. The cases take turns, best of --runs;
    the table says what dicomframe ran on (``ParallelReport``) and each case's
    least CPU time (threads and forked workers included), which another process
    on the machine changes far less than the wall time.
(4) ``dicomframe transcode`` against the DCMTK and GDCM command-line tools on
    the same file (dcmcjpls, dcmdjpls, dcmcjpeg +e1, gdcmconv --jpeg,
    gdcmconv --j2k, gdcmconv --raw, dcmcrle, gdcmconv --rle, dcmdrle; those not
    installed are left out), each run a fresh
    process, best of --runs, the tools and dicomframe taking turns. The compressed
    inputs of the decoding cases are what the tools themselves wrote. dicomframe
    runs with its defaults (verification on for lossless targets) and with
    ``--no-verify``, like the tools, which do not verify. The table gives wall
    times and, in brackets, CPU times (each process and the workers it forked),
    the ratio of the best times, and the median of the ratios run by run (each
    run's tool against the dicomframe run right after it: a slow spell of the
    machine hits both) with a 95% bootstrap interval for that median.
    ``--rows TEXT`` keeps the rows whose conversion or tool contains TEXT
    (``--rows RLE --runs 15``: the short rows, many times).
    dicomframe's processes run from compiled bytecode (``compileall`` first,
    PYTHONDONTWRITEBYTECODE removed), as an installed package does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"

MEASURE = """
import json, sys, time
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0
{imports}
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")
base = status("VmRSS")
started = time.perf_counter()
{code}
print(json.dumps({{"seconds": time.perf_counter() - started, "peak": status("VmHWM") - base}}))
"""

OURS = (
    "import dicomframe as dcf, dicomframe.streaming, dicomframe.codecs.rle",
    "dcf.transcode_file(sys.argv[1], sys.argv[2], 'RLELossless', verify=False)",
)
PYDICOM = (
    "import pydicom, pydicom.pixels",
    "ds = pydicom.dcmread(sys.argv[1])\n"
    "ds.compress('1.2.840.10008.1.2.5', encoding_plugin='pylibjpeg')\n"
    "ds.save_as(sys.argv[2])",
)


def make_large(gigabytes: float) -> Path:
    """A native multi-frame file written frame by frame (never whole in memory)."""
    import numpy as np

    import dicomframe as dcf

    frames = max(1, int(gigabytes * 1e9 // (512 * 512 * 2)))
    path = DATA / f"large_{frames}frames.dcm"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    ds = dcf.read(ROOT / "testdata" / "mr_multiframe_uint16.dcm")
    ds.Rows, ds.Columns, ds.NumberOfFrames = 512, 512, frames
    ds[0x7FE00010].value = b"\0\0"
    head = bytearray()
    dcf.write(ds, path)
    head = bytearray(path.read_bytes()[: -4 - 2])
    length = frames * 512 * 512 * 2
    y, x = np.mgrid[0:512, 0:512]
    with open(path, "wb") as handle:
        handle.write(bytes(head) + length.to_bytes(4, "little"))
        for index in range(frames):
            frame = ((x + index) % 256 * 8 + (y // 16) % 32).astype("<u2")
            handle.write(frame.tobytes())
    return path


def measure(imports: str, code: str, *args: Path) -> dict[str, float]:
    script = MEASURE.format(imports=imports, code=code)
    out = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def streaming(gigabytes: float) -> None:
    source = make_large(gigabytes)
    size = source.stat().st_size
    print(f"(1) {source.name}: {size / 1e9:.2f} GB native -> RLE Lossless\n")
    print("| tool | time (s) | peak RSS (MB) | peak / file size |")
    print("|---|---|---|---|")
    for name, (imports, code) in (("dicomframe transcode_file", OURS), ("pydicom", PYDICOM)):
        out = DATA / f"out_{name.split()[0]}.dcm"
        result = measure(imports, code, source, out)
        out.unlink(missing_ok=True)
        print(
            f"| {name} | {result['seconds']:.1f} | {result['peak'] / 1e6:.0f} | "
            f"{result['peak'] / size:.3f} |"
        )


def transcode_tree(src: Path, dst: Path, workers: int) -> tuple[float, str]:
    """One fresh ``dicomframe transcode`` process: wall time and the summary line.

    The previous output is removed and the disks synced first, so no run pays
    for the writes or deletions of the one before it.
    """
    shutil.rmtree(dst, ignore_errors=True)
    os.sync()
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "dicomframe.cli", "transcode", str(src), str(dst),
         "--to", "RLELossless", "--workers", str(workers)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    shutil.rmtree(dst, ignore_errors=True)
    return seconds, out.stdout.strip().splitlines()[-1]


def tree(files: int, runs: int) -> None:
    import dicomframe as dcf

    src = DATA / "tree"
    if src.exists():
        shutil.rmtree(src)
    template = dcf.read(ROOT / "testdata" / "ct_explicit_le.dcm")
    for index in range(files):
        folder = src / f"series{index % 10:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        template.SOPInstanceUID = f"2.25.{1000 + index}"
        dcf.write(template, folder / f"image{index:04d}.dcm")
    (src / "series00" / "image0000.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00garbage")
    print(
        f"\n(2) {files} files of {template.Rows}x{template.Columns} -> RLE Lossless, one corrupt, "
        f"best of {runs} runs each (1 and 2 workers taking turns; "
        f"load average {os.getloadavg()[0]:.2f} at the start)\n"
    )
    times: dict[int, list[float]] = {1: [], 2: []}
    summaries = {}
    for _ in range(runs):  # turns: a slow spell of the machine hits both modes alike
        for workers, measured in times.items():
            seconds, summaries[workers] = transcode_tree(src, DATA / "tree_out", workers)
            measured.append(seconds)
    shutil.rmtree(src)
    print(f"load average {os.getloadavg()[0]:.2f} at the end: another process on a core slows")
    print("the runs it overlaps, hence the best of several\n")
    print("| workers | time (s) | speed-up | all runs (s) | converted | failed |")
    print("|---|---|---|---|---|---|")
    for workers, measured in times.items():
        summary = summaries[workers]
        converted, failed = summary.split(" converted, ")[0], summary.split(", ")[1].split()[0]
        print(
            f"| {workers} | {min(measured):.2f} | {min(times[1]) / min(measured):.2f}x | "
            f"{' '.join(f'{t:.2f}' for t in measured)} | {converted} | {failed} |"
        )


def ct_volume(frames: int) -> Any:
    """``frames`` 512x512 int16 CT-like frames: air, a body, a moving bone ring, noise."""
    import numpy as np

    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:512, 0:512].astype(np.float32)
    radius = np.hypot(x - 256, y - 256)
    out = np.empty((frames, 512, 512), np.int16)
    for i in range(frames):
        tissue = 40 + 60 * np.sin(x / 37 + i / 9) + 40 * np.cos(y / 23)
        body = np.where(radius < 215, tissue, -1000)
        bone = np.where(np.abs(radius - 154 - 8 * np.sin(i / 11)) < 6, 700, 0)
        out[i] = np.clip(body + bone + rng.normal(0, 12, (512, 512)), -1024, 3071)
    return out


def make_ct(frames: int) -> Path:
    """The native CT file of (3) and (4), written once."""
    import dicomframe as dcf

    path = DATA / f"ct_int16_{frames}frames.dcm"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    ds = dcf.read(ROOT / "testdata" / "ct_explicit_le.dcm")
    ds.set_pixel_data(ct_volume(frames), bits_stored=16)
    dcf.write(ds, path)
    return path


def cpu_seconds() -> float:
    """CPU time of this process, its threads and the workers it forked and reaped."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def j2k_side_by_side(frames: int, runs: int) -> None:
    """(3): JPEG 2000 Lossless of the CT, pydicom and dicomframe taking turns."""
    import pydicom
    from pydicom.uid import JPEG2000Lossless

    import dicomframe as dcf
    from dicomframe.parallel import ParallelReport

    source = make_ct(frames)
    ran: dict[str, str] = {}

    def ours(verify: bool) -> Callable[[], object]:
        def run() -> object:
            report = ParallelReport()
            with dcf.read(source) as ds:
                result = dcf.transcode(ds, "JPEG2000Lossless", verify=verify, report=report)
            steps = ", ".join(f"{k} {v}" for k, v in report.steps.items())
            ran[f"verify={verify}"] = f"{steps}; {report.workers} {report.mode}"
            return result

        return run

    def theirs() -> object:
        ds = pydicom.dcmread(source)
        ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg")
        return ds

    cases = {"pydicom": theirs, "verify=True": ours(True), "verify=False": ours(False)}
    times: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):  # turns: a slow spell of the machine hits every case alike
        for name, case in cases.items():
            before = cpu_seconds()
            started = time.perf_counter()
            case()
            times[name].append(time.perf_counter() - started)
            cpu[name].append(cpu_seconds() - before)
    best = {name: min(measured) for name, measured in times.items()}
    print(f"\n(3) {frames} frames of 512x512 int16 -> JPEG 2000 Lossless, in memory, best of "
          f"{runs} (load average {os.getloadavg()[0]:.2f} at the end)\n")  # fmt: skip
    print("| case | time (s) | x pydicom | all runs (s) | CPU (s) | dicomframe ran |")
    print("|---|---|---|---|---|---|")
    labels = {"pydicom": "pydicom `compress` (pylibjpeg-openjpeg)",
              "verify=True": "dicomframe `transcode` (verify on, default)",
              "verify=False": "dicomframe `transcode`, `verify=False`"}  # fmt: skip
    for name, measured in times.items():
        print(f"| {labels[name]} | {best[name]:.2f} | {best['pydicom'] / best[name]:.2f}x | "
              f"{' '.join(f'{t:.2f}' for t in measured)} | {min(cpu[name]):.2f} | "
              f"{ran.get(name, '-')} |")  # fmt: skip


# (label, the tool's command, its input (a key of inputs), the syntax dicomframe converts to)
TOOLS = [
    ("native -> JPEG-LS Lossless", ["dcmcjpls"], "native", "JPEGLSLossless"),
    ("JPEG-LS Lossless -> native", ["dcmdjpls"], "jpegls", "ExplicitVRLittleEndian"),
    ("native -> JPEG Lossless SV1", ["dcmcjpeg", "+e1"], "native", "JPEGLosslessSV1"),
    ("native -> JPEG Lossless SV1", ["gdcmconv", "--jpeg"], "native", "JPEGLosslessSV1"),
    ("native -> JPEG 2000 Lossless", ["gdcmconv", "--j2k"], "native", "JPEG2000Lossless"),
    ("JPEG 2000 Lossless -> native", ["gdcmconv", "--raw"], "j2k", "ExplicitVRLittleEndian"),
    ("native -> RLE Lossless", ["dcmcrle"], "native", "RLELossless"),
    ("native -> RLE Lossless", ["gdcmconv", "--rle"], "native", "RLELossless"),
    ("RLE Lossless -> native", ["dcmdrle"], "rle", "ExplicitVRLittleEndian"),
]


def child_env() -> dict[str, str]:
    """The environment of a fresh dicomframe process: compiled bytecode, as when installed."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed(command: list[str], output: Path, env: dict[str, str] | None = None) -> float:
    """Wall time of one fresh process writing ``output`` (removed first)."""
    return timed_cpu(command, output, env)[0]


def timed_cpu(
    command: list[str], output: Path, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Wall and CPU time of one fresh process (its own workers included) writing ``output``."""
    import resource

    output.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0 or not output.exists():
        raise RuntimeError(f"{' '.join(command)} failed: {run.stderr.strip()[-500:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return seconds, cpu


def cli_inputs(native: Path) -> dict[str, Path]:
    """The compressed inputs of the decoding cases, as the tools write them."""
    inputs = {"native": native}
    for key, command in (("jpegls", ["dcmcjpls"]), ("j2k", ["gdcmconv", "--j2k"]),
                         ("rle", ["dcmcrle"])):  # fmt: skip
        path = DATA / f"{native.stem}_{key}.dcm"
        if shutil.which(command[0]) and not path.exists():
            timed([*command, str(native), str(path)], path)
        inputs[key] = path
    return inputs


def median_interval(ratios: list[float], draws: int = 4000) -> tuple[float, float, float]:
    """The median of ``ratios`` and a 95% interval for it (percentile bootstrap, seeded).

    The best times of two tools are two lucky runs of a machine whose speed drifts by a
    third within minutes; the run-by-run ratios, each a tool's run against the dicomframe
    run right after it, carry the comparison, and the interval says how far their median
    can be trusted: its lower end above 1x is "faster" beyond the noise of the run.
    """
    import random

    draw = random.Random(11)
    medians = sorted(statistics.median(draw.choices(ratios, k=len(ratios))) for _ in range(draws))
    low, high = medians[int(0.025 * draws)], medians[int(0.975 * draws) - 1]
    return statistics.median(ratios), low, high


def shown(interval: tuple[float, float, float]) -> str:
    """``1.07x, 1.02-1.11`` (the median and its interval)."""
    middle, low, high = interval
    return f"{middle:.2f}x, {low:.2f}-{high:.2f}"


def cli_table(frames: int, runs: int, rows: str = "") -> None:
    """(4): ``dicomframe transcode`` against DCMTK and GDCM, a fresh process per run."""
    env = child_env()
    native = make_ct(frames)
    inputs = cli_inputs(native)
    out = DATA / "cli_out.dcm"
    ours = [sys.executable, "-m", "dicomframe.cli", "transcode"]
    print(f"\n(4) one file of {frames} frames of 512x512 int16 ({native.stat().st_size / 1e6:.0f} "
          f"MB native), a fresh process per run, best of {runs}\n")  # fmt: skip
    print("| conversion | tool | tool, s (CPU s) | dicomframe, s (CPU s) | tool / dicomframe "
          "(median run by run, 95% interval) | dicomframe --no-verify, s (CPU s) | tool / "
          "--no-verify (median run by run, 95% interval) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for label, tool, source, syntax in TOOLS:
        if shutil.which(tool[0]) is None or not inputs[source].exists():
            continue
        if rows and rows not in label and rows not in " ".join(tool):
            continue
        src = str(inputs[source])
        commands = {
            "tool": ([*tool, src, str(out)], None),
            "ours": ([*ours, src, str(out), "--to", syntax], env),
            "no-verify": ([*ours, src, str(out), "--to", syntax, "--no-verify"], env),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, (command, environment) in commands.items():
                times[name].append(timed_cpu(command, out, environment))
        best = {name: min(measured) for name, measured in times.items()}  # by wall time
        cpu = {name: min(c for _, c in measured) for name, measured in times.items()}
        tool_s, ours_s, bare_s = best["tool"][0], best["ours"][0], best["no-verify"][0]
        pairs = {
            name: zip(times["tool"], times[name], strict=True) for name in ("ours", "no-verify")
        }
        paired = {
            name: median_interval([t[0] / o[0] for t, o in runs_]) for name, runs_ in pairs.items()
        }
        print(f"| {label} | {' '.join(tool)} | {tool_s:.2f} ({cpu['tool']:.2f}) | "
              f"{ours_s:.2f} ({cpu['ours']:.2f}) | {tool_s / ours_s:.2f}x "
              f"({shown(paired['ours'])}) | {bare_s:.2f} ({cpu['no-verify']:.2f}) | "
              f"{tool_s / bare_s:.2f}x ({shown(paired['no-verify'])}) |")  # fmt: skip
    out.unlink(missing_ok=True)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end; a ratio above 1x: dicomframe is "
          "faster")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=2.0)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5, help="the best of this many")
    parser.add_argument("--ct-frames", type=int, default=200, help="(3) and (4): frames")
    parser.add_argument("--sections", default="1,2,3,4", help="which to run, e.g. 3,4")
    parser.add_argument("--rows", default="", help="(4): only the rows naming this, e.g. RLE")
    args = parser.parse_args()
    sections = {int(s) for s in args.sections.split(",") if s.strip()}
    if 1 in sections and args.gigabytes > 0:  # --gigabytes 0: the tree only
        streaming(args.gigabytes)
    if 2 in sections and args.files > 0:
        tree(args.files, args.runs)
    if 3 in sections:
        j2k_side_by_side(args.ct_frames, args.runs)
    if 4 in sections:
        cli_table(args.ct_frames, args.runs, args.rows)


if __name__ == "__main__":
    main()
