"""The Codec contract's facts: how a codec runs on many frames, its backends' minimum versions,
``out=`` in DecodeFn, and the interruptions no codec failure swallows."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import inspect
from typing import Any

import numpy as np
import pytest

from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.executors import in_threads
from dicomframe.plugins import Codec, CodecManager
from dicomframe.plugins._requirements import unmet
from dicomframe.plugins.codec import INTERRUPTIONS, DecodeFn, Threading
from tests.plugins.fakes import ZLIB, Plugin

NUMPY = importlib.metadata.version("numpy")
NUMPY_MAJOR = int(NUMPY.split(".")[0])


# -- threading -------------------------------------------------------------------------------
def test_threading_is_a_declared_field_with_a_safe_default() -> None:
    assert ZLIB.threading is Threading.HOLDS_GIL  # never slower than one thread
    fast = dataclasses.replace(ZLIB, threading=Threading.RELEASES_GIL)
    assert fast.threading == "releases-gil"  # a StrEnum: prints and compares as its value
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.threading = Threading.PROCESS_ONLY  # type: ignore[misc]
    assert {t.value for t in Threading} == {"releases-gil", "holds-gil", "process-only"}


# -- backend versions ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "requirement",
    [
        f"numpy>={NUMPY}",
        f"numpy>={NUMPY_MAJOR}",
        f"numpy>{NUMPY_MAJOR - 1}.99",
        f"numpy[extra] >= {NUMPY_MAJOR}, <{NUMPY_MAJOR + 1}",
        f"numpy~={NUMPY_MAJOR}.0",
        f"numpy=={NUMPY}",
        f"numpy>={NUMPY_MAJOR}; python_version >= '3'",  # markers are not judged
        "numpy==2.*",  # a clause this reader does not know is not held against it
        "numpy",
        "zlib",  # no distribution of that name: the missing modules say what is missing
        "no-such-distribution-here>=1",
    ],
)
def test_a_met_requirement_is_not_too_old(requirement: str) -> None:
    assert unmet(requirement) is None
    assert dataclasses.replace(ZLIB, requires=(requirement,)).too_old() is None


@pytest.mark.parametrize(
    "requirement",
    [
        f"numpy>={NUMPY_MAJOR + 1}",
        f"numpy>{NUMPY}",
        f"numpy<{NUMPY_MAJOR}",
        f"numpy~={NUMPY_MAJOR + 1}.0",
        f"numpy!={NUMPY}",
        f"NumPy >= {NUMPY_MAJOR}, >= 999.1",  # names are case-insensitive; every clause counts
    ],
)
def test_an_unmet_requirement_is_too_old(requirement: str) -> None:
    codec = dataclasses.replace(ZLIB, requires=("zlib", requirement))
    reason = codec.too_old()
    name = requirement[: len("numpy")]  # as the requirement spells it
    assert reason == f"{name} {NUMPY} is installed; the codec needs {requirement}"
    assert unmet(requirement) == reason


def test_too_old_reads_metadata_and_imports_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def version(name: str) -> str:
        asked.append(name)
        return "2.1.0"

    monkeypatch.setattr(importlib.metadata, "version", version)
    monkeypatch.setenv("DICOMFRAME_PLUGIN_CACHE", "0")  # nothing remembered: asked each time
    codec = dataclasses.replace(
        ZLIB, modules=("never_imported",), requires=("backend-a>=2.3", "backend-b>=2.1")
    )
    assert codec.too_old() == "backend-a 2.1.0 is installed; the codec needs backend-a>=2.3"
    assert asked == ["backend-a", "backend-b"]


def test_every_builtin_requirement_is_met_here() -> None:
    for row in CodecManager().codecs():
        if row.available:
            assert row.codec.too_old() is None, row.name


# -- out= in DecodeFn ------------------------------------------------------------------------
def test_decode_fn_takes_out_keyword_only() -> None:
    parameter = inspect.signature(DecodeFn.__call__).parameters["out"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert parameter.default is None


def test_the_registry_passes_out_to_the_decoder_and_keeps_its_memory(
    manager: CodecManager,
) -> None:
    """A decoder that fills ``out`` returns a frame whose data is that memory."""
    from dicomframe.plugins.helpers import decode_target, read_samples
    from tests.test_parallel import INFO, encoded, pixels

    seen: list[Any] = []

    def into(frame: EncapsulatedFrame, /, *, out: Any = None, **options: Any) -> NativeFrame:
        import zlib

        seen.append(out)
        info = frame.info.replace(transfer_syntax_uid="1.2.840.10008.1.2.1")
        target = decode_target(out, info, "u2")
        raw = np.frombuffer(zlib.decompress(bytes(frame.data)), "<u2").reshape(info.shape)
        if target is None:
            return NativeFrame(raw.reshape(-1).copy(), info)
        target[...] = raw
        return NativeFrame(read_samples(target, 2, info), info)

    manager.register(Plugin(dataclasses.replace(ZLIB, decode=into)), "into")
    values = pixels(3)
    frames = encoded(values)
    out = np.zeros(INFO.values_per_frame, INFO.dtype)
    native = manager.decode(frames[0], out=out)
    assert np.shares_memory(native.data, out)
    np.testing.assert_array_equal(out.reshape(INFO.shape), values[0])
    assert seen[-1] is out


# -- interruptions ---------------------------------------------------------------------------
@pytest.mark.parametrize("interruption", INTERRUPTIONS)
def test_an_interruption_in_a_worker_reaches_the_caller(
    interruption: type[BaseException],
) -> None:
    def work(index: int) -> None:
        if index == 3:
            raise interruption

    with pytest.raises(interruption):
        in_threads(work, range(8), 2)


def test_a_codec_with_every_fact_declared() -> None:
    codec = Codec(
        name="full",
        transfer_syntaxes=frozenset({"1.2.3"}),
        requires=(f"numpy>={NUMPY_MAJOR}",),
        priority=-20,
        threading=Threading.PROCESS_ONLY,
        psnr_floor=40.0,
    )
    assert (codec.too_old(), codec.threading, codec.psnr_floor) == (None, "process-only", 40.0)
