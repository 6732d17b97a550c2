"""dicomframe.parallel: many frames on threads or forked processes, and decoding into ``out``.

The codecs here are real (zlib frames, the built-in RLE, imagecodecs); the ones that fail do
so on purpose, on chosen frames, to show that a frame failing on a worker is decoded again
through the registry, with its fallback and warning, as a single frame would be.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import threading
import warnings
import zlib
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe import parallel
from dicomframe.codecs import rle as rle_plugin
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.errors import CodecFallbackWarning, DecodeError, NoCodecError
from dicomframe.parallel import ParallelReport
from dicomframe.plugins import Codec, CodecManager
from dicomframe.plugins.codec import Threading
from dicomframe.plugins.helpers import decode_target
from tests.plugins.fakes import PRIVATE, ZLIB, Plugin, zlib_decode

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"
INFO = FrameInfo(
    rows=5,
    columns=7,
    bits_allocated=16,
    bits_stored=16,
    high_bit=15,
    transfer_syntax_uid=PRIVATE.uid,
)
MODES = ["serial", "threads", "processes", "auto"]
forking = pytest.mark.skipif(not parallel.can_fork(), reason="needs os.fork")
RELEASES = dataclasses.replace(ZLIB, threading=Threading.RELEASES_GIL)  # as zlib does
HOLDS = dataclasses.replace(ZLIB, threading=Threading.HOLDS_GIL)
UNSAFE = dataclasses.replace(ZLIB, threading=Threading.PROCESS_ONLY)


def pixels(count: int = 9) -> np.ndarray[Any, Any]:
    return np.random.default_rng(3).integers(0, 65535, (count, 5, 7), dtype="<u2")


def encoded(values: np.ndarray[Any, Any]) -> list[EncapsulatedFrame]:
    return [
        EncapsulatedFrame([zlib.compress(v.tobytes())], INFO, index=i) for i, v in enumerate(values)
    ]


def natives(values: np.ndarray[Any, Any]) -> list[NativeFrame]:
    info = INFO.replace(transfer_syntax_uid="1.2.840.10008.1.2.1")
    frames = []
    for index, value in enumerate(values):
        frame = NativeFrame(value.reshape(-1), info)
        frame.index = index
        frames.append(frame)
    return frames


def register(manager: CodecManager, *codecs: Codec) -> CodecManager:
    manager.register(Plugin(*codecs), "test-plugin")
    return manager


class Panic(BaseException):
    """What a Rust backend raises when it panics (pyo3's PanicException is a BaseException)."""


def failing_on(*indices: int, error: type[BaseException] = DecodeError) -> Any:
    """A zlib decoder that fails on the frames given (in any process)."""

    def decode(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
        if frame.index in indices:
            raise error(f"frame {frame.index} refused")
        return zlib_decode(frame, **options)

    return decode


# -- decoding -------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_decode_frames_gives_every_frame_in_every_mode(manager: CodecManager, mode: str) -> None:
    if mode == "processes" and not parallel.can_fork():
        pytest.skip("needs os.fork")
    values = pixels()
    report = ParallelReport()
    out = parallel.decode_frames(
        encoded(values), codecs=register(manager, RELEASES), workers=2, parallel=mode, report=report
    )
    assert out.shape == values.shape
    assert out.dtype == np.dtype("<u2")
    np.testing.assert_array_equal(out, values)
    assert report.mode == ("threads" if mode == "auto" else mode)
    assert report.codec == "zlib-frames"
    assert report.fallbacks == []


@pytest.mark.parametrize("mode", MODES)
def test_pixel_array_of_a_file_in_every_mode(
    manager: CodecManager, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if mode == "processes" and not parallel.can_fork():
        pytest.skip("needs os.fork")
    monkeypatch.setattr(parallel, "_FORK_TOTAL_SECONDS", math.inf)  # never worth forking
    manager.register(rle_plugin, "rle")
    report = ParallelReport()
    with dcf.read(TESTDATA / "rle_multiframe.dcm") as ds:
        expected = ds.pixel_data.pixel_array(codecs=manager, codec="rle", workers=1)
        got = ds.pixel_data.pixel_array(codecs=manager, workers=2, parallel=mode, report=report)
    assert got.shape == (5, 32, 48)
    np.testing.assert_array_equal(got, expected)
    assert report.codec == ("pylibjpeg-rle" if rle_plugin.PYLIBJPEG_RLE.is_available() else "rle")
    # both RLE codecs hold the GIL: "auto" forks only for frames worth it, and these are not
    assert report.mode == ("serial" if mode == "auto" else mode)


@forking
def test_processes_decode_into_shared_memory_that_the_array_keeps(manager: CodecManager) -> None:
    values = pixels(6)
    report = ParallelReport()
    out = parallel.decode_frames(
        encoded(values), codecs=register(manager, ZLIB), workers=2, parallel="processes",
        report=report,
    )  # fmt: skip
    assert len(report.processes) == 1  # one forked worker decoded frames...
    assert os.getpid() not in report.processes
    assert report.threads == {threading.get_ident()}  # ...and this process, the other
    assert out.flags.writeable
    out[0, 0, 0] = 7  # an ordinary array to its user
    np.testing.assert_array_equal(out[1:], values[1:])


@pytest.mark.parametrize("mode", ["threads", pytest.param("processes", marks=forking)])
def test_a_frame_the_codec_fails_on_falls_back_with_a_warning(
    manager: CodecManager, mode: str
) -> None:
    picky = dataclasses.replace(ZLIB, name="picky", decode=failing_on(4), priority=5)
    register(manager, picky, dataclasses.replace(ZLIB, name="spare"))
    values = pixels()
    report = ParallelReport()
    with pytest.warns(CodecFallbackWarning, match="'spare' decoded it"):
        out = parallel.decode_frames(
            encoded(values), codecs=manager, workers=2, parallel=mode, report=report
        )
    np.testing.assert_array_equal(out, values)
    assert (report.codec, report.mode, report.fallbacks) == ("picky", mode, [4])


@pytest.mark.parametrize("mode", ["serial", "threads", pytest.param("processes", marks=forking)])
def test_a_backend_panic_on_one_frame_falls_back(manager: CodecManager, mode: str) -> None:
    panicky = dataclasses.replace(ZLIB, name="panicky", decode=failing_on(4, error=Panic))
    register(manager, dataclasses.replace(panicky, priority=5), ZLIB)
    values = pixels()
    with pytest.warns(CodecFallbackWarning, match="decoded it"):
        out = parallel.decode_frames(encoded(values), codecs=manager, workers=2, parallel=mode)
    np.testing.assert_array_equal(out, values)


@pytest.mark.parametrize("mode", ["serial", "threads", pytest.param("processes", marks=forking)])
def test_a_frame_nothing_decodes_raises_no_codec_error(manager: CodecManager, mode: str) -> None:
    register(manager, dataclasses.replace(ZLIB, name="picky", decode=failing_on(5)))
    with pytest.raises(NoCodecError, match="frame 5") as caught:
        parallel.decode_frames(encoded(pixels()), codecs=manager, workers=2, parallel=mode)
    assert [a.outcome for a in caught.value.attempts] == ["failed"]


def none_on(*indices: int) -> Any:
    """A zlib decoder that returns None for the frames given (in any process)."""

    def decode(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame | None:
        if frame.index in indices:
            return None
        return zlib_decode(frame, **options)

    return decode


@pytest.mark.parametrize("mode", ["serial", "threads", pytest.param("processes", marks=forking)])
def test_a_frame_the_codec_returns_nothing_for_falls_back(manager: CodecManager, mode: str) -> None:
    lazy = dataclasses.replace(ZLIB, name="lazy", decode=none_on(4), priority=5)
    register(manager, lazy, dataclasses.replace(ZLIB, name="spare"))
    values = pixels()
    with pytest.warns(CodecFallbackWarning, match="'spare' decoded it"):
        out = parallel.decode_frames(encoded(values), codecs=manager, workers=2, parallel=mode)
    np.testing.assert_array_equal(out, values)


def zeros(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    info = frame.info.replace(transfer_syntax_uid="1.2.840.10008.1.2.1")
    return NativeFrame(np.zeros(info.values_per_frame, info.dtype), info)


@pytest.mark.parametrize("mode", ["serial", "threads", pytest.param("processes", marks=forking)])
def test_a_frame_whose_header_contradicts_the_dataset_is_refused(
    manager: CodecManager, mode: str
) -> None:
    from dicomframe.plugins.codestream import CodestreamError
    from tests.plugins import streams

    j2k = "1.2.840.10008.1.2.4.90"
    register(manager, dataclasses.replace(ZLIB, transfer_syntaxes=frozenset({j2k}), decode=zeros))
    info = INFO.replace(transfer_syntax_uid=j2k)
    frames = [EncapsulatedFrame([streams.j2k(5, 7, precision=16)], info, index=i) for i in range(8)]
    frames[4] = EncapsulatedFrame([streams.j2k(60000, 7, precision=16)], info, index=4)
    with pytest.raises(CodestreamError, match="frame 4: the JPEG 2000 codestream is 7x60000"):
        parallel.decode_frames(frames, codecs=manager, workers=2, parallel=mode)


def test_a_frame_that_decodes_to_another_layout_is_refused(manager: CodecManager) -> None:
    def odd(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
        native = zlib_decode(frame)
        if frame.index == 2:
            return NativeFrame(
                native.data, native.info.replace(photometric_interpretation="MONOCHROME1")
            )
        return native

    register(manager, dataclasses.replace(ZLIB, decode=odd))
    with pytest.raises(DecodeError, match=r"frame 2 decoded to .* MONOCHROME1"):
        parallel.decode_frames(encoded(pixels()), codecs=manager, workers=1)


def test_no_frames_is_an_error(manager: CodecManager) -> None:
    with pytest.raises(ValueError, match="no frames"):
        parallel.decode_frames([], codecs=manager)


def test_workers_must_be_positive(manager: CodecManager) -> None:
    with pytest.raises(ValueError, match="workers must be 1 or more"):
        parallel.decode_frames(encoded(pixels()), codecs=register(manager, ZLIB), workers=0)
    assert parallel.default_workers() >= 1


# -- decoding into out ---------------------------------------------------------------------
class IntoRecorder:
    """A zlib decoder that decodes into ``out`` when given one (or refuses it)."""

    def __init__(self, *, refuse_out: bool = False) -> None:
        self.refuse_out = refuse_out
        self.offered: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
        if "out" in options:
            with self.lock:
                self.offered.append(int(frame.index or 0))
            if self.refuse_out:
                raise TypeError("unexpected keyword argument 'out'")
        native = zlib_decode(frame)
        info = frame.info.replace(transfer_syntax_uid="1.2.840.10008.1.2.1")
        out = options.get("out")
        if out is not None:
            assert out.shape == (info.values_per_frame,)  # the contract: flat
        target = decode_target(options, info, "u2")
        if target is None:
            return native
        target[...] = native.array
        return NativeFrame(target.reshape(-1), info)


def test_a_codec_that_takes_out_decodes_into_the_output(manager: CodecManager) -> None:
    recorder = IntoRecorder()
    register(manager, dataclasses.replace(RELEASES, decode=recorder))
    values = pixels()
    out = parallel.decode_frames(encoded(values), codecs=manager, workers=2, parallel="threads")
    np.testing.assert_array_equal(out, values)
    assert sorted(recorder.offered) == list(range(1, len(values)))  # frame 0 chooses the codec


def test_a_codec_failing_only_with_out_is_not_offered_it_again(manager: CodecManager) -> None:
    recorder = IntoRecorder(refuse_out=True)
    register(manager, dataclasses.replace(ZLIB, decode=recorder))
    values = pixels()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback to another codec, so no warning
        out = parallel.decode_frames(encoded(values), codecs=manager, workers=1)
    np.testing.assert_array_equal(out, values)
    assert recorder.offered == [1]


def test_imagecodecs_jpeg_decodes_ycbcr_to_rgb_into_out() -> None:
    pytest.importorskip("imagecodecs")
    from dicomframe.codecs.imagecodecs import JPEG

    y, x = np.mgrid[0:32, 0:48]
    rgb = np.stack([x * 5, y * 7, (x + y) * 3], axis=-1).astype(np.uint8)
    info = FrameInfo(rows=32, columns=48, samples_per_pixel=3, photometric_interpretation="RGB")
    stream = JPEG.encode(NativeFrame(rgb.reshape(-1), info), _baseline())  # type: ignore[misc]
    assert stream.info.photometric_interpretation == "YBR_FULL_422"
    plain = JPEG.decode(stream)
    out = np.zeros((32, 48, 3), np.uint8)
    into = JPEG.decode(stream, out=out)
    assert into.info.photometric_interpretation == plain.info.photometric_interpretation == "RGB"
    assert np.shares_memory(into.data, out)
    np.testing.assert_array_equal(out, plain.array)
    assert np.abs(plain.array.astype(int) - rgb).max() <= 12  # lossy, but RGB again
    ybr = JPEG.decode(stream, as_rgb=False, out=np.zeros((32, 48, 3), np.uint8))
    assert ybr.info.photometric_interpretation == "YBR_FULL"


def test_imagecodecs_j2k_decodes_signed_samples_into_out() -> None:
    pytest.importorskip("imagecodecs")
    from dicomframe.codecs.imagecodecs import J2K

    with dcf.read(TESTDATA / "j2k_lossless.dcm") as ds:
        frame = ds.pixel_data[0]
        plain = J2K.decode(frame)
        out = np.zeros(plain.info.shape, plain.info.dtype)
        into = J2K.decode(frame, out=out)
    assert out.dtype == np.dtype("<i2")
    assert np.shares_memory(into.data, out)
    np.testing.assert_array_equal(out, plain.array)


def _baseline() -> Any:
    from dicomframe.core.transfer_syntax import resolve

    return resolve("JPEGBaseline8Bit")


# -- choosing threads or processes ------------------------------------------------------------
class Plan(NamedTuple):
    """What a kind of codec runs on (``ran``), for a ``parallel`` and a worker count."""

    threading: Threading
    parallel: parallel.Parallel
    workers: int
    slow: bool  # whether "auto" finds the frames worth forking for
    ran: str


# Where forking is safe; "auto" forks for slow frames only.
PLANS = [
    Plan(Threading.RELEASES_GIL, "auto", 2, False, "threads"),
    Plan(Threading.RELEASES_GIL, "auto", 2, True, "threads"),
    Plan(Threading.RELEASES_GIL, "threads", 2, False, "threads"),
    Plan(Threading.RELEASES_GIL, "processes", 2, False, "processes"),
    Plan(Threading.RELEASES_GIL, "serial", 2, False, "serial"),
    Plan(Threading.RELEASES_GIL, "auto", 1, False, "serial"),
    Plan(Threading.RELEASES_GIL, "threads", 1, False, "serial"),
    Plan(Threading.HOLDS_GIL, "auto", 2, True, "processes"),
    Plan(Threading.HOLDS_GIL, "auto", 2, False, "serial"),
    Plan(Threading.HOLDS_GIL, "threads", 2, False, "threads"),
    Plan(Threading.HOLDS_GIL, "processes", 2, False, "processes"),
    Plan(Threading.HOLDS_GIL, "processes", 1, False, "serial"),
    Plan(Threading.HOLDS_GIL, "auto", 1, True, "serial"),
    Plan(Threading.PROCESS_ONLY, "auto", 2, True, "processes"),
    Plan(Threading.PROCESS_ONLY, "auto", 2, False, "serial"),
    Plan(Threading.PROCESS_ONLY, "threads", 2, False, "processes"),
    Plan(Threading.PROCESS_ONLY, "processes", 2, False, "processes"),
    Plan(Threading.PROCESS_ONLY, "serial", 2, False, "serial"),
]


def planned(manager: CodecManager, monkeypatch: pytest.MonkeyPatch, plan: Plan) -> CodecManager:
    """``manager`` with a zlib codec of ``plan``'s kind; frames as slow as the plan says."""
    monkeypatch.setattr(parallel, "_FORK_FRAME_SECONDS", 0.0 if plan.slow else math.inf)
    monkeypatch.setattr(parallel, "_FORK_TOTAL_SECONDS", 0.0 if plan.slow else math.inf)
    return register(manager, dataclasses.replace(ZLIB, threading=plan.threading))


def assert_ran(report: ParallelReport, plan: Plan) -> None:
    """The report says the frames after the first ran where ``plan`` says, and they did."""
    assert (report.mode, report.workers) == (plan.ran, plan.workers if plan.ran != "serial" else 1)
    here = threading.get_ident()
    if plan.ran == "processes":  # workers - 1 forked, and this process the last
        assert len(report.processes) == plan.workers - 1
        assert os.getpid() not in report.processes
        assert report.threads == {here}
    elif plan.ran == "threads":
        assert report.processes == set()
        assert 1 <= len(report.threads) <= plan.workers
    else:
        assert (report.processes, report.threads) == (set(), {here})


@forking
@pytest.mark.parametrize("plan", PLANS, ids=lambda p: "-".join(map(str, p)))
def test_each_kind_of_codec_decodes_where_it_should(
    manager: CodecManager, monkeypatch: pytest.MonkeyPatch, plan: Plan
) -> None:
    values, report = pixels(), ParallelReport()
    out = parallel.decode_frames(
        encoded(values),
        codecs=planned(manager, monkeypatch, plan),
        workers=plan.workers,
        parallel=plan.parallel,
        report=report,
    )
    np.testing.assert_array_equal(out, values)
    assert_ran(report, plan)


@forking
@pytest.mark.parametrize("plan", PLANS, ids=lambda p: "-".join(map(str, p)))
def test_each_kind_of_codec_encodes_where_it_should(
    manager: CodecManager, monkeypatch: pytest.MonkeyPatch, plan: Plan
) -> None:
    values, report = pixels(), ParallelReport()
    frames = parallel.encode_frames(
        natives(values),
        PRIVATE.uid,
        codecs=planned(manager, monkeypatch, plan),
        workers=plan.workers,
        parallel=plan.parallel,
        report=report,
    )
    assert [bytes(f.data) for f in frames] == [zlib.compress(v.tobytes()) for v in values]
    assert_ran(report, plan)


def test_threads_really_run_at_once(manager: CodecManager) -> None:
    """Frames 1 and 2 each wait for the other: only two threads at once get past them."""
    both = threading.Barrier(2, timeout=60)  # a deadlock guard, not a measurement

    def meeting(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
        if frame.index in (1, 2):
            both.wait()
        return zlib_decode(frame, **options)

    register(manager, dataclasses.replace(RELEASES, decode=meeting))
    values, report = pixels(), ParallelReport()
    out = parallel.decode_frames(
        encoded(values), codecs=manager, workers=2, parallel="auto", report=report
    )
    np.testing.assert_array_equal(out, values)
    assert (report.mode, report.workers, report.fallbacks) == ("threads", 2, [])
    assert len(report.threads) == 2


def test_mode_follows_what_the_codec_does_with_the_gil(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "can_fork", lambda: True)
    assert parallel._mode("auto", RELEASES, 2, 10) == "threads"
    assert parallel._mode("auto", ZLIB, 2, 10) == "processes"  # not declared: holds the GIL
    assert parallel._mode("auto", HOLDS, 2, 10) == "processes"
    assert parallel._mode("auto", HOLDS, 1, 10) == "serial"
    assert parallel._mode("threads", HOLDS, 2, 1) == "serial"  # one frame after the first
    assert parallel._mode("threads", HOLDS, 2, 10) == "threads"  # asked for, and safe
    assert parallel._mode("threads", UNSAFE, 2, 10) == "processes"
    with pytest.raises(ValueError, match="parallel must be one of"):
        parallel._mode("fibres", HOLDS, 2, 10)


def test_auto_does_not_fork_while_other_threads_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "can_fork", lambda: True)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert parallel._mode("auto", HOLDS, 2, 10) == "serial"
        assert parallel._mode("threads", UNSAFE, 2, 10) == "serial"
    finally:
        stop.set()
        other.join()


def test_a_daemonic_worker_does_not_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    from multiprocessing import process

    class Daemon:
        daemon = True

    monkeypatch.setattr(parallel, "can_fork", lambda: True)
    monkeypatch.setattr(process, "current_process", Daemon)
    assert parallel._mode("auto", HOLDS, 2, 10) == "serial"


def test_without_fork_processes_cannot_be_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "can_fork", lambda: False)
    with pytest.raises(ValueError, match=r"needs os\.fork"):
        parallel._mode("processes", ZLIB, 2, 10)
    assert parallel._mode("auto", HOLDS, 2, 10) == "serial"
    assert parallel._mode("threads", UNSAFE, 2, 10) == "serial"


BUILTIN_THREADING = {
    "imagecodecs-jpeg": Threading.RELEASES_GIL,
    "imagecodecs-jpegls": Threading.RELEASES_GIL,
    "imagecodecs-j2k": Threading.RELEASES_GIL,
    "imagecodecs-htj2k": Threading.RELEASES_GIL,
    "imagecodecs-jpegxl": Threading.RELEASES_GIL,
    "imagecodecs-rle": Threading.RELEASES_GIL,  # PackBits in C without the GIL
    "imagecodecs-ljpeg": Threading.RELEASES_GIL,  # liblj92 without the GIL: 2 threads 1.9x
    "deflate": Threading.RELEASES_GIL,
    "encapsulated-uncompressed": Threading.RELEASES_GIL,
    "pylibjpeg-libjpeg": Threading.HOLDS_GIL,
    "pylibjpeg-rle": Threading.HOLDS_GIL,
    "pyjpegls": Threading.HOLDS_GIL,
    "pillow": Threading.HOLDS_GIL,
    "rle": Threading.HOLDS_GIL,  # np.repeat holds the GIL
    "pylibjpeg-openjpeg": Threading.PROCESS_ONLY,  # two threads in OpenJPEG crash
}


def test_every_builtin_codec_declares_how_it_runs() -> None:
    from dicomframe.codecs import deflate, imagecodecs, jpegls, pillow, pylibjpeg

    modules = (deflate, imagecodecs, jpegls, pillow, pylibjpeg, rle_plugin)
    declared = {c.name: c.threading for m in modules for c in m.dicomframe_codecs()}
    assert declared == BUILTIN_THREADING
    assert parallel.releases_gil(dataclasses.replace(ZLIB, threading=Threading.RELEASES_GIL))
    assert not parallel.releases_gil(ZLIB)
    assert not parallel.thread_safe(UNSAFE)
    assert parallel.thread_safe(HOLDS)


@forking
def test_auto_forks_only_for_slow_frames(
    manager: CodecManager, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    register(manager, HOLDS)
    values = pixels()
    with caplog.at_level(logging.DEBUG, logger="dicomframe.parallel"):
        out = parallel.decode_frames(encoded(values), codecs=manager, workers=2)
    assert "on this thread" in caplog.records[-1].getMessage()  # zlib frames take microseconds
    np.testing.assert_array_equal(out, values)
    monkeypatch.setattr(parallel, "_FORK_FRAME_SECONDS", 0.0)
    monkeypatch.setattr(parallel, "_FORK_TOTAL_SECONDS", 0.0)
    with caplog.at_level(logging.DEBUG, logger="dicomframe.parallel"):
        out = parallel.decode_frames(encoded(values), codecs=manager, workers=2)
    assert "on 2 processes" in caplog.records[-1].getMessage()
    np.testing.assert_array_equal(out, values)


# -- encoding ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_encode_frames_in_every_mode(manager: CodecManager, mode: str) -> None:
    if mode == "processes" and not parallel.can_fork():
        pytest.skip("needs os.fork")
    register(manager, ZLIB)
    values = pixels()
    frames = parallel.encode_frames(
        natives(values), PRIVATE.uid, codecs=manager, workers=2, parallel=mode, level=9
    )
    assert len(frames) == len(values)
    for frame, value in zip(frames, values, strict=True):
        assert frame.info.transfer_syntax_uid == PRIVATE.uid
        assert bytes(frame.data) == zlib.compress(value.tobytes(), 9)


@pytest.mark.parametrize("mode", ["threads", pytest.param("processes", marks=forking)])
def test_encode_falls_back_for_a_frame_the_codec_refuses(manager: CodecManager, mode: str) -> None:
    def picky(frame: NativeFrame, syntax: Any, /, **options: Any) -> EncapsulatedFrame:
        if frame.index == 3:
            raise ValueError("refused")
        return ZLIB.encode(frame, syntax, **options)  # type: ignore[misc]

    register(manager, dataclasses.replace(ZLIB, name="picky", encode=picky, priority=5))
    register_more = dataclasses.replace(ZLIB, name="spare")
    manager.register(Plugin(register_more), "more")
    values = pixels()
    with pytest.warns(CodecFallbackWarning, match="'spare' encoded it"):
        frames = parallel.encode_frames(
            natives(values), PRIVATE.uid, codecs=manager, workers=2, parallel=mode
        )
    decoded = [manager.decode(f).array for f in frames]
    np.testing.assert_array_equal(np.stack(decoded), values)


def test_encode_nothing_is_nothing(manager: CodecManager) -> None:
    assert parallel.encode_frames([], PRIVATE.uid, codecs=manager) == []


def test_encode_with_says_which_codec(manager: CodecManager) -> None:
    register(manager, dataclasses.replace(ZLIB, name="first", priority=3), ZLIB)
    frame, used = manager.encode_with(natives(pixels(1))[0], PRIVATE.uid)
    assert used == "first"
    assert frame.info.transfer_syntax_uid == PRIVATE.uid
    with pytest.warns(CodecFallbackWarning, match="'first' encoded it"):
        manager.encode_with(
            natives(pixels(1))[0], PRIVATE.uid, sticky="zlib-frames", block=["zlib-frames"]
        )


def test_the_mode_of_several_codecs_counts_each(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "_forkable", lambda: True)
    assert parallel.choose_mode("auto", [RELEASES, RELEASES], 2, 10) == "threads"
    assert parallel.choose_mode("auto", [RELEASES, HOLDS], 2, 10) == "processes"  # if worth it
    assert parallel.choose_mode("threads", [RELEASES, HOLDS], 2, 10) == "threads"
    assert parallel.choose_mode("threads", [RELEASES, UNSAFE], 2, 10) == "processes"
    assert parallel.choose_mode("auto", [], 2, 10) == "serial"  # nothing to run
    assert parallel.choose_mode("processes", [RELEASES], 1, 10) == "serial"
    monkeypatch.setattr(parallel, "_forkable", lambda: False)
    assert parallel.choose_mode("auto", [RELEASES, HOLDS], 2, 10) == "serial"
    with pytest.raises(ValueError, match="parallel must be one of"):
        parallel.choose_mode("fibers", [RELEASES], 2, 10)


@pytest.mark.skipif(not parallel.can_fork(), reason="needs os.fork")
@pytest.mark.parametrize(("name", "forks"), [("fsspecIO", True), ("someone-elses", False)])
def test_only_fork_aware_threads_let_workers_fork(name: str, forks: bool) -> None:
    """fsspec resets its IO loop in a forked child; any other thread keeps workers unforked."""
    release = threading.Event()
    thread = threading.Thread(target=release.wait, name=name, daemon=True)
    thread.start()
    try:
        assert parallel._forkable() is forks
    finally:
        release.set()
        thread.join()
    assert parallel._forkable()
