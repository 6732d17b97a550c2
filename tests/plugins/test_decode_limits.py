"""Decoding within dcf.Limits: the frame and the object are sized from the dataset and refused
before any codec runs or anything is allocated.

The bombs of issue 9 are rebuilt by hand: a JPEG 2000 codestream and a JPEG lossless one
whose headers and datasets both say 60000 x 60000. Through the real, installed codecs and
without the limits the first leaves 3.8 GB resident and the second 6 GB; here they end in a
LimitError, in a child process whose peak memory is measured (and capped, so a regression
fails instead of exhausting the machine).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.core.frame_info import FrameInfo
from dicomframe.parallel import decode_frames
from dicomframe.plugins import Capabilities, Codec, CodecManager, hookimpl
from tests.plugins import streams

ROOT = Path(__file__).resolve().parents[2]
J2K = "1.2.840.10008.1.2.4.90"
LOSSLESS = "1.2.840.10008.1.2.4.70"
GIB = 1 << 30


class Spy:
    """A codec for JPEG 2000 and JPEG lossless: records calls and options, returns zeros."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def decode(self, frame: dcf.EncapsulatedFrame, /, **options: Any) -> dcf.NativeFrame:
        self.calls.append(options)
        info = frame.info.replace(transfer_syntax_uid="1.2.840.10008.1.2.1")
        return dcf.NativeFrame(np.zeros(info.values_per_frame, info.dtype), info)

    @hookimpl
    def dicomframe_codecs(self) -> list[Codec]:
        return [
            Codec(
                name="spy",
                transfer_syntaxes=frozenset({J2K, LOSSLESS}),
                decode=self.decode,
                decode_caps=Capabilities(bits_allocated=frozenset({8, 16})),
            )
        ]


@pytest.fixture
def spy(manager: CodecManager) -> Spy:
    plugin = Spy()
    manager.register(plugin, "spy")
    return plugin


def bomb(kind: str, *, index: int | None = 0) -> dcf.EncapsulatedFrame:
    """A 60000 x 60000 frame whose codestream agrees with its dataset."""
    if kind == "j2k":
        data, uid, bits = streams.j2k(60000, 60000, body=70_000), J2K, 8
    else:
        data, uid, bits = streams.jpeg(60000, 60000, precision=16, body=70_000), LOSSLESS, 16
    info = FrameInfo(
        rows=60000,
        columns=60000,
        bits_allocated=bits,
        bits_stored=bits,
        high_bit=bits - 1,
        transfer_syntax_uid=uid,
    )
    return dcf.EncapsulatedFrame([data], info, index=index)


def small(index: int = 0, uid: str = J2K) -> dcf.EncapsulatedFrame:
    data = streams.j2k(8, 10) if uid == J2K else streams.jpeg(8, 10)
    info = FrameInfo(rows=8, columns=10, transfer_syntax_uid=uid)
    return dcf.EncapsulatedFrame([data], info, index=index)


@pytest.mark.parametrize(("kind", "size"), [("j2k", 3_600_000_000), ("jpeg", 7_200_000_000)])
def test_a_frame_over_the_limit_reaches_no_codec(
    manager: CodecManager, spy: Spy, kind: str, size: int
) -> None:
    with pytest.raises(dcf.LimitError) as caught:
        manager.decode(bomb(kind, index=2))
    error = caught.value
    assert (error.limit, error.value, error.maximum) == ("max_frame_bytes", size, GIB)
    assert "decoded frame 2" in str(error)
    assert spy.calls == []


def test_the_limits_are_per_call_and_never_a_codec_option(manager: CodecManager, spy: Spy) -> None:
    frame = small()  # 80 bytes decoded
    with pytest.raises(dcf.LimitError, match=r"needs 80 but Limits\.max_frame_bytes is 79"):
        manager.decode(frame, limits=dcf.Limits(max_frame_bytes=79))
    with pytest.raises(dcf.LimitError, match="max_frame_bytes is 79"):
        frame.decode(codecs=manager, limits=dcf.Limits(max_frame_bytes=79))
    assert spy.calls == []
    manager.decode(frame, limits=dcf.Limits(max_frame_bytes=80), quality=3)
    frame.decode(codecs=manager, limits=dcf.Limits(max_frame_bytes=80))
    assert spy.calls == [{"quality": 3}, {}]


def test_the_process_default_applies_when_a_call_gives_none(
    manager: CodecManager, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dicomframe.core import limits

    monkeypatch.setattr(limits, "_default", dcf.Limits(max_frame_bytes=10))
    with pytest.raises(dcf.LimitError, match="max_frame_bytes is 10"):
        manager.decode(small())
    assert spy.calls == []


def test_one_bit_frames_are_counted_packed(manager: CodecManager, spy: Spy) -> None:
    info = FrameInfo(rows=16, columns=16, bits_allocated=1, bits_stored=1, high_bit=0)
    frame = dcf.EncapsulatedFrame([b"\0"], info.replace(transfer_syntax_uid=J2K))
    with pytest.raises(dcf.LimitError, match="needs 32 but"):
        manager.decode(frame, limits=dcf.Limits(max_frame_bytes=31))


def test_all_frames_over_the_object_limit_reach_no_codec(manager: CodecManager, spy: Spy) -> None:
    # 8000 x 8000 x 16 bits: 128 MB a frame, under max_frame_bytes; 100 of them are 12.8 GB.
    info = FrameInfo(
        rows=8000, columns=8000, bits_allocated=16, bits_stored=16, high_bit=15,
        transfer_syntax_uid=LOSSLESS,
    )  # fmt: skip
    data = streams.jpeg(8000, 8000, precision=16)
    frames = [dcf.EncapsulatedFrame([data], info, index=i) for i in range(100)]
    with pytest.raises(dcf.LimitError) as caught:
        decode_frames(frames, codecs=manager)
    error = caught.value
    assert (error.limit, error.value) == ("max_object_bytes", 100 * 128_000_000)
    assert "100 decoded frames of 8000x8000x1" in str(error)
    assert spy.calls == []


def test_the_object_limit_is_per_call(manager: CodecManager, spy: Spy) -> None:
    frames = [small(i) for i in range(5)]  # 5 x 80 bytes
    with pytest.raises(dcf.LimitError, match=r"needs 400 but Limits\.max_object_bytes is 399"):
        decode_frames(frames, codecs=manager, limits=dcf.Limits(max_object_bytes=399))
    assert spy.calls == []
    out = decode_frames(
        frames, codecs=manager, limits=dcf.Limits(max_object_bytes=400), parallel="serial"
    )
    assert out.shape == (5, 8, 10)
    assert len(spy.calls) == 5
    assert all("limits" not in options for options in spy.calls)


def test_decode_frames_checks_the_frame_limit_too(manager: CodecManager, spy: Spy) -> None:
    with pytest.raises(dcf.LimitError, match="max_frame_bytes is 79"):
        decode_frames([small(), small(1)], codecs=manager, limits=dcf.Limits(max_frame_bytes=79))
    assert spy.calls == []


# -- the bombs, through a file and the installed codecs, in a child process ------------------------
CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # a regression fails, not the host
import dicomframe as dcf
from dicomframe.plugins import default_manager

default_manager().load()  # plugins and their imports before the measurement
ds = dcf.read(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
errors = []
for attempt in (lambda: ds.pixel_data[0].decode(), lambda: ds.pixel_array):
    try:
        attempt()
    except BaseException as exc:
        errors.append(type(exc).__name__)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"errors": errors, "grown_kib": after - before}))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux")
@pytest.mark.parametrize("kind", ["j2k", "jpeg"])
def test_the_bombs_stay_small(tmp_path: Path, kind: str) -> None:
    frame = bomb(kind)
    ds = dcf.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1234.9"
    ds.set_pixel_data([frame], frame.info.transfer_syntax_uid)
    path = tmp_path / f"{kind}-bomb.dcm"
    dcf.write(ds, path)
    assert path.stat().st_size < 80_000
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result = json.loads(run.stdout)
    assert result["errors"] == ["LimitError", "LimitError"]
    assert result["grown_kib"] < 200 * 1024
