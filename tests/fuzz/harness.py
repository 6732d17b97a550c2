"""Run every public operation on one input and collect what escapes that is not a DicomError.

The contract under test (issue 9): whatever the bytes, reading, iterating,
printing, decoding (through the registry and through each codec that
claims the syntax), rendering and writing either succeed or raise a
:class:`dicomframe.DicomError`. Small :data:`FUZZ_LIMITS` are in force
while an input runs, so a hostile size ends in a ``LimitError`` quickly
instead of exhausting memory.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import random
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import dicomframe as dcf
from dicomframe.core.limits import default_limits, set_default_limits
from tests.fuzz.layout import Doc, doc_from_bytes
from tests.fuzz.mutators import mutate

try:
    import resource
except ImportError:  # not on Windows
    resource = None  # type: ignore[assignment]

__all__ = [
    "FUZZ_LIMITS",
    "OPERATIONS",
    "Case",
    "Escape",
    "exercise",
    "fuzz_limits",
    "memory_guard",
    "seed_files",
    "seeds",
]

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
MIB = 1 << 20
FUZZ_LIMITS = dcf.Limits(
    max_frame_bytes=64 * MIB,
    max_object_bytes=128 * MIB,
    max_inflated_bytes=8 * MIB,
    max_elements=200_000,
    max_stream_bytes=256 * MIB,
)
OPERATIONS = (
    "iter_elements",
    "read",
    "str",
    "values",
    "pixel_array",
    "frames",
    "codecs",
    "get_image",
    "get_image_display",
    "write",
    "reread",
    "close",
)
FRAMES_TRIED = 3  # frames decoded one by one (pixel_array decodes them all)
DEFER_SIZE = 256  # for mapped reads: most values stay in the file until used
GUARD_HEADROOM = 6 << 30  # address space an input may add (rendering copies a 64 MiB frame)

# pydicom's bundled files that add what testdata/ lacks, all small: big endian from other
# writers, JPEG baseline, JPEG-LS, more J2K and RLE, 32-bit RLE, YBR_FULL_422, deep sequences.
PYDICOM_SEEDS = (
    "MR_small_bigendian.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "JPEGLSNearLossless_08.dcm",
    "SC_rgb_rle_32bit.dcm",
    "SC_rgb_rle_16bit_2frame.dcm",
    "SC_rgb_small_odd_big_endian.dcm",
    "rtplan.dcm",
    "nested_priv_SQ.dcm",
    "SC_ybr_full_422_uncompressed.dcm",
    "SC_rgb_jpeg_gdcm.dcm",
    "rtdose_rle_1frame.dcm",
    "UN_sequence.dcm",
)
# Larger frames (256k pixels and up) cost tens of milliseconds per input: long runs only.
LONG_RUN_SEEDS = (
    "JPEG2000.dcm",
    "693_J2KI.dcm",
    "JPGExtended.dcm",
    "image_dfl.dcm",
    "examples_palette.dcm",
    "SC_rgb_jpeg_app14_dcmd.dcm",
    "GDCMJ2K_TextGBR.dcm",
    "JPEGLSNearLossless_16.dcm",
)


def seed_files(*, long_run: bool = False) -> list[Path]:
    """testdata/*.dcm and the pydicom files above that are installed."""
    files = sorted((ROOT / "testdata").glob("*.dcm"))
    names = PYDICOM_SEEDS + (LONG_RUN_SEEDS if long_run else ())
    with contextlib.suppress(ImportError):
        import pydicom

        base = Path(pydicom.__file__).parent / "data" / "test_files"
        files += [base / name for name in names if (base / name).is_file()]
    return files


@functools.cache
def seeds(*, long_run: bool = False) -> tuple[tuple[str, Doc], ...]:
    """(file name, document) for every seed file."""
    return tuple((p.name, doc_from_bytes(p.read_bytes())) for p in seed_files(long_run=long_run))


@dataclass(frozen=True, slots=True)
class Case:
    """One input, by its recipe: a seed file, the mutators applied in turn, a random seed."""

    seed: str
    mutators: tuple[str, ...]
    rng: int
    long_run: bool = False

    def data(self) -> bytes:
        """The input's bytes (the same every time for the same recipe)."""
        doc = dict(seeds(long_run=self.long_run))[self.seed]
        return mutate(doc, list(self.mutators), random.Random(self.rng)).encode()


def _address_space() -> int | None:
    """This process's virtual memory size in bytes (Linux), else None."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    line = next((x for x in status.splitlines() if x.startswith("VmSize:")), None)
    return int(line.split()[1]) * 1024 if line else None


@contextlib.contextmanager
def memory_guard(headroom: int = GUARD_HEADROOM) -> Iterator[None]:
    """Cap the address space at what is in use plus ``headroom`` for the duration.

    An allocation that escapes the limits then fails as a ``MemoryError``
    (reported as an escape, with its traceback) instead of the machine's
    OOM killer ending the whole run. A no-op where RLIMIT_AS is unknown.
    """
    used = _address_space()
    if resource is None or used is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = used + headroom
    for bound in (soft, hard):
        if bound != resource.RLIM_INFINITY:
            cap = min(cap, bound)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@contextlib.contextmanager
def fuzz_limits() -> Iterator[None]:
    """:data:`FUZZ_LIMITS` as the process default for the duration."""
    previous = default_limits()
    set_default_limits(FUZZ_LIMITS)
    try:
        yield
    finally:
        set_default_limits(previous)


@dataclass(frozen=True, slots=True)
class Escape:
    """An exception other than DicomError that one operation let out."""

    operation: str
    error: BaseException

    @property
    def where(self) -> str:
        """The innermost dicomframe frame of the traceback, as ``path:line (function)``."""
        frames = traceback.extract_tb(self.error.__traceback__)
        ours = [f for f in frames if f"{os.sep}dicomframe{os.sep}" in f.filename]
        if not ours:
            return "outside dicomframe"
        frame = ours[-1]
        path = frame.filename.split(f"{os.sep}dicomframe{os.sep}", 1)[1]
        return f"dicomframe/{path}:{frame.lineno} ({frame.name})"

    @property
    def signature(self) -> str:
        """What deduplicates crashers: the exception type and where dicomframe let it out."""
        return f"{type(self.error).__name__} at {self.where}"

    @property
    def message(self) -> str:
        """The first line of the exception's message, at most 160 characters."""
        return str(self.error).splitlines()[0][:160] if str(self.error) else "(no message)"

    def describe(self) -> str:
        """One line: the operation, the signature and the message."""
        return f"{self.operation}: {self.signature}: {self.message}"


class _Attempts:
    """Runs operations, keeping DicomError quiet and recording every other exception."""

    def __init__(
        self, timings: dict[str, float] | None, trace: Callable[[str], None] | None
    ) -> None:
        self.escapes: list[Escape] = []
        self.timings = timings
        self.trace = trace

    def __call__(self, operation: str, run: Callable[[], T]) -> T | None:
        if self.trace is not None:
            self.trace(operation)
        started = time.perf_counter()
        try:
            return run()
        except dcf.DicomError:
            return None
        except Exception as exc:
            self.escapes.append(Escape(operation, exc))
            return None
        finally:
            if self.timings is not None:
                self.timings[operation] = time.perf_counter() - started


def exercise(
    data: bytes,
    *,
    path: str | os.PathLike[str] | None = None,
    timings: dict[str, float] | None = None,
    trace: Callable[[str], None] | None = None,
) -> list[Escape]:
    """Run every operation on ``data`` (read from ``path`` instead when given, mapped).

    Returns the escapes, in the order they happened; an empty list means the
    input kept the contract. ``timings``, when given, receives the seconds
    each operation took; ``trace`` is called with each operation's name as it
    starts (so a supervisor can tell where a process died or hung).
    """
    attempt = _Attempts(timings, trace)
    force = data[128:132] != b"DICM"
    with warnings.catch_warnings(), fuzz_limits(), memory_guard(GUARD_HEADROOM):
        warnings.simplefilter("ignore")
        attempt("iter_elements", lambda: _touch(dcf.iter_elements(data, force=force)))
        source = data if path is None else path
        ds = attempt("read", lambda: dcf.read(source, force=force, defer_size=DEFER_SIZE))
        if ds is not None:
            try:
                _exercise_dataset(ds, attempt)
            finally:
                attempt("close", ds.close)
    return attempt.escapes


def _touch(elements: Any) -> None:
    """Decode every value, into sequences."""
    for element in elements:
        if element.vr == "SQ":
            for item in element.value:
                _touch(item)
        else:
            _ = element.value


def _exercise_dataset(ds: dcf.Dataset, attempt: _Attempts) -> None:
    attempt("str", lambda: str(ds))
    attempt("values", lambda: _touch(ds))
    attempt("pixel_array", lambda: ds.pixel_array)
    attempt("frames", lambda: _frames(ds))
    attempt("codecs", lambda: _each_codec(ds))
    attempt("get_image", lambda: dcf.get_image(ds, frame_index=0))
    attempt("get_image_display", lambda: dcf.get_image(ds, frame_index=0, display=True))
    out = io.BytesIO()
    if attempt("write", lambda: dcf.write(ds, out) or True):
        attempt("reread", lambda: str(dcf.read(out.getvalue())))


def _frames(ds: dcf.Dataset) -> None:
    pixels = ds.pixel_data
    for index in range(min(len(pixels), FRAMES_TRIED)):
        _ = pixels[index].decode().array


def _each_codec(ds: dcf.Dataset) -> None:
    """Frame 0 decoded by every codec that claims the syntax, one at a time."""
    pixels = ds.pixel_data
    if not pixels.is_encapsulated or len(pixels) == 0:
        return
    frame = pixels[0]
    uid = frame.info.transfer_syntax_uid
    for name in _decoders(uid):
        with contextlib.suppress(dcf.DicomError):
            frame.decode(codec=name)


@functools.cache
def _decoders(uid: str) -> tuple[str, ...]:
    return tuple(
        status.codec.name
        for status in dcf.list_codecs()
        if status.available and status.codec.decode and uid in status.codec.transfer_syntaxes
    )
