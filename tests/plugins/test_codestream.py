"""The registry reads each frame's codestream header before any codec runs.

Streams are built by hand (tests/plugins/streams.py); a spy codec registered for every
syntax records each call, so each test asserts whether a backend was reached at all.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.codecs import _common
from dicomframe.core.frame_info import FrameInfo
from dicomframe.plugins import Capabilities, Codec, CodecManager, codestream, hookimpl
from dicomframe.plugins.codestream import CodestreamError
from tests.plugins import streams
from tests.reference import project_files, pydicom_files

J2K = "1.2.840.10008.1.2.4.90"
HTJ2K = "1.2.840.10008.1.2.4.201"
BASELINE = "1.2.840.10008.1.2.4.50"
EXTENDED = "1.2.840.10008.1.2.4.51"
LOSSLESS = "1.2.840.10008.1.2.4.70"
PROGRESSIVE = "1.2.840.10008.1.2.4.55"  # retired, still a JPEG process
HIERARCHICAL = "1.2.840.10008.1.2.4.59"
JPEG_LS = "1.2.840.10008.1.2.4.80"
RLE = "1.2.840.10008.1.2.5"
SYNTAXES = frozenset({J2K, HTJ2K, BASELINE, EXTENDED, LOSSLESS, PROGRESSIVE, HIERARCHICAL})
SYNTAXES |= {JPEG_LS, RLE}
ANY = Capabilities(bits_allocated=frozenset({8, 16, 32}), samples_per_pixel=frozenset({1, 3}))


class Spy:
    """A codec for every syntax here: records the frames it is given, returns zeros."""

    def __init__(self) -> None:
        self.calls: list[int | None] = []

    def decode(self, frame: dcf.EncapsulatedFrame, /, **options: Any) -> dcf.NativeFrame:
        self.calls.append(frame.index)
        info = frame.info.replace(transfer_syntax_uid="1.2.840.10008.1.2.1")
        return dcf.NativeFrame(np.zeros(info.values_per_frame, info.dtype), info)

    @hookimpl
    def dicomframe_codecs(self) -> list[Codec]:
        return [Codec(name="spy", transfer_syntaxes=SYNTAXES, decode=self.decode, decode_caps=ANY)]


@pytest.fixture
def spy(manager: CodecManager) -> Spy:
    plugin = Spy()
    manager.register(plugin, "spy")
    return plugin


def frame(data: bytes, uid: str, *, index: int | None = 0, **info: Any) -> dcf.EncapsulatedFrame:
    fields: dict[str, Any] = {"rows": 32, "columns": 40, "transfer_syntax_uid": uid}
    fields |= info
    if "bits_allocated" in fields:
        fields.setdefault("bits_stored", fields["bits_allocated"])
        fields.setdefault("high_bit", fields["bits_stored"] - 1)
    return dcf.EncapsulatedFrame([data], FrameInfo(**fields), index=index)


# -- what must agree -----------------------------------------------------------------------------
CONTRADICTIONS = [
    ("j2k-rows", streams.j2k(33, 40), J2K, {}, "codestream is 40x33; the dataset says 40x32"),
    ("j2k-columns", streams.j2k(32, 41), J2K, {}, "is 41x32; the dataset says 40x32"),
    (
        "j2k-components",
        streams.j2k(32, 40, components=3),
        J2K,
        {},
        "has 3 components; Samples per Pixel is 1",
    ),
    ("jp2-rows", streams.jp2(streams.j2k(99, 40)), J2K, {}, "is 40x99; the dataset says 40x32"),
    ("htj2k-rows", streams.j2k(60000, 40), HTJ2K, {}, "is 40x60000; the dataset says 40x32"),
    ("baseline-sof0", streams.jpeg(33, 40, sof=0xFFC0), BASELINE, {}, "JPEG stream is 40x33"),
    ("extended-sof1", streams.jpeg(32, 8, sof=0xFFC1), EXTENDED, {}, "JPEG stream is 8x32"),
    ("progressive-sof2", streams.jpeg(32, 4, sof=0xFFC2), PROGRESSIVE, {}, "stream is 4x32"),
    ("lossless-sof3", streams.jpeg(60000, 60000), LOSSLESS, {}, "is 60000x60000; the dataset"),
    (
        "lossless-components",
        streams.jpeg(32, 40, components=3),
        LOSSLESS,
        {},
        "JPEG stream has 3 components; Samples per Pixel is 1",
    ),
    ("jpeg-ls-sof55", streams.jpeg_ls(32, 39), JPEG_LS, {}, "JPEG-LS stream is 39x32"),
    (
        "jpeg-ls-samples",
        streams.jpeg_ls(32, 40),
        JPEG_LS,
        {"samples_per_pixel": 3, "photometric_interpretation": "RGB"},
        "has 1 components; Samples per Pixel is 3",
    ),
    (
        "hierarchical-dhp",
        streams.hierarchical(64, 80, 32, 40),
        HIERARCHICAL,
        {},
        "JPEG stream is 80x64; the dataset says 40x32",
    ),
    (
        "j2k-precision",
        streams.j2k(32, 40, precision=16),
        J2K,
        {"bits_allocated": 8},
        "precision 16 exceeds Bits Allocated 8",
    ),
    (
        "jpeg-precision",
        streams.jpeg(32, 40, precision=12, sof=0xFFC1),
        EXTENDED,
        {"bits_allocated": 8},
        "precision 12 exceeds Bits Allocated 8",
    ),
    (
        "rle-segments",
        streams.rle([64, 100], 200),
        RLE,
        {},
        "RLE header gives 2 segments; 1 sample(s) of 8 bits need 1",
    ),
    (
        "rle-offset-outside",
        streams.rle([64, 300], 200),
        RLE,
        {"bits_allocated": 16},
        "segment 1 offset 300 is outside the frame's data (64..199)",
    ),
    (
        "rle-offset-in-header",
        streams.rle([12], 200),
        RLE,
        {},
        "segment 0 offset 12 is outside",
    ),
    (
        "rle-offsets-backwards",
        streams.rle([120, 64], 200),
        RLE,
        {"bits_allocated": 16},
        "segment 1 offset 64 is not after 120",
    ),
    ("j2k-too-short", b"\xff\x4f\xff\x51\x00", J2K, {}, "JPEG 2000 header is truncated"),
    ("jpeg-too-short", b"\xff\xd8\xff\xc3\x00\x0b", LOSSLESS, {}, "JPEG header is truncated"),
    ("rle-too-short", b"\x01\x00\x00\x00", RLE, {}, "the frame has 4 bytes, the header needs 64"),
    ("empty", b"", J2K, {}, "the frame has 0 bytes"),
    # A size left to a DNL marker: pylibjpeg-libjpeg allocates without bound on it (fuzzing).
    ("lossless-dnl", streams.jpeg(32, 40, dnl=True), LOSSLESS, {}, "gives 40x0: a size left"),
    ("jpeg-ls-no-lines", streams.jpeg_ls(0, 40), JPEG_LS, {}, "gives 40x0: a size left"),
]


@pytest.mark.parametrize(
    ("data", "uid", "info", "message"),
    [case[1:] for case in CONTRADICTIONS],
    ids=[case[0] for case in CONTRADICTIONS],
)
def test_a_contradiction_is_refused_before_any_codec(
    manager: CodecManager, spy: Spy, data: bytes, uid: str, info: dict[str, Any], message: str
) -> None:
    with pytest.raises(dcf.DecodeError, match=re.escape(message)) as caught:
        manager.decode(frame(data, uid, index=7, **info))
    assert spy.calls == []
    error = caught.value
    assert isinstance(error, CodestreamError)
    assert error.frame_index == 7
    assert str(error).startswith(f"frame 7: {error.attempts[0].error}; no codec was called")
    # Also the NoCodecError it has always been: the codec that would have run, failed.
    assert isinstance(error, dcf.NoCodecError)
    [attempt] = error.attempts
    assert (attempt.codec, attempt.outcome) == ("spy", "failed")
    assert "checked before any codec ran" in attempt.reason
    assert isinstance(attempt.error, dcf.DecodeError)
    assert error.__cause__ is attempt.error


AGREEMENTS = [
    ("j2k", streams.j2k(32, 40), J2K, {}),
    ("jp2", streams.jp2(streams.j2k(32, 40)), J2K, {}),
    ("j2k-rgb", streams.j2k(32, 40, components=3), J2K, {"samples_per_pixel": 3}),
    ("j2k-16-of-bits-stored-12", streams.j2k(32, 40, precision=16), J2K, {"bits_stored": 12}),
    ("j2k-12-of-bits-stored-16", streams.j2k(32, 40, precision=12), J2K, {"bits_allocated": 16}),
    ("baseline-8-of-12", streams.jpeg(32, 40, sof=0xFFC0), BASELINE, {"bits_stored": 12}),
    ("extended-12", streams.jpeg(32, 40, precision=12, sof=0xFFC1), EXTENDED, {"bits_stored": 12}),
    ("jpeg-ls-fewer-bits", streams.jpeg_ls(32, 40, precision=6), JPEG_LS, {"bits_allocated": 8}),
    ("hierarchical-first-frame-smaller", streams.hierarchical(32, 40, 16, 20), HIERARCHICAL, {}),
    ("rle", streams.rle([64, 100], 200), RLE, {"bits_allocated": 16}),
    # Not parseable but long enough: the codecs know best.
    ("jpeg-without-soi", b"\x00" * 64, LOSSLESS, {}),
    ("j2k-without-soc", b"\x00" * 64, J2K, {}),
]


@pytest.mark.parametrize(
    ("data", "uid", "info"),
    [case[1:] for case in AGREEMENTS],
    ids=[case[0] for case in AGREEMENTS],
)
def test_an_agreeing_or_unreadable_header_reaches_the_codec(
    manager: CodecManager, spy: Spy, data: bytes, uid: str, info: dict[str, Any]
) -> None:
    if "samples_per_pixel" in info:
        info = {**info, "photometric_interpretation": "RGB"}
    if "bits_stored" in info and "bits_allocated" not in info:
        info = {**info, "bits_allocated": 16}
    decoded = manager.decode(frame(data, uid, index=3, **info))
    assert spy.calls == [3]
    assert decoded.data.size == 32 * 40 * decoded.info.samples_per_pixel


def test_a_header_split_across_fragments_is_read(manager: CodecManager, spy: Spy) -> None:
    data = streams.j2k(33, 40)
    split = dcf.EncapsulatedFrame([data[:7], data[7:20], data[20:]], frame(b"", J2K).info)
    with pytest.raises(CodestreamError, match="is 40x33"):
        manager.decode(split)
    assert spy.calls == []


def test_when_no_codec_would_run_the_error_is_about_codecs(manager: CodecManager) -> None:
    narrow = Codec(
        name="narrow",
        transfer_syntaxes=frozenset({J2K}),
        decode=Spy().decode,
        decode_caps=Capabilities(bits_allocated=frozenset({16})),
    )

    class Narrow:
        @hookimpl
        def dicomframe_codecs(self) -> list[Codec]:
            return [narrow]

    manager.register(Narrow(), "narrow")
    with pytest.raises(dcf.NoCodecError) as caught:
        manager.decode(frame(streams.j2k(99, 40), J2K))
    assert not isinstance(caught.value, dcf.DecodeError)
    assert [a.outcome for a in caught.value.attempts] == ["declined"]


def test_decode_frames_refuses_one_contradicting_frame(manager: CodecManager, spy: Spy) -> None:
    from dicomframe.parallel import decode_frames

    good = streams.j2k(32, 40)
    frames = [frame(good, J2K, index=i) for i in range(6)]
    frames[4] = frame(streams.j2k(60000, 60000), J2K, index=4)
    with pytest.raises(CodestreamError, match="frame 4: the JPEG 2000 codestream is 60000x60000"):
        decode_frames(frames, codecs=manager, parallel="serial")
    assert 4 not in spy.calls
    assert spy.calls == [0, 1, 2, 3]


# -- the parsers ---------------------------------------------------------------------------------
def test_the_codecs_read_the_same_parsers() -> None:
    assert _common.j2k_parameters is codestream.j2k_parameters
    assert _common.jpeg_parameters is codestream.jpeg_parameters
    assert _common.J2KParameters is codestream.J2KParameters
    assert _common.JPEGParameters is codestream.JPEGParameters
    assert _common.SOF_MARKERS is codestream.SOF_MARKERS


def test_parsed_headers() -> None:
    j2k = codestream.j2k_parameters(streams.jp2(streams.j2k(7, 9, precision=12, signed=True)))
    assert (j2k.rows, j2k.columns, j2k.precision, j2k.signed, j2k.jp2) == (7, 9, 12, True, True)
    sof = codestream.jpeg_parameters(streams.jpeg(5, 6, components=3, precision=16))
    assert (sof.rows, sof.columns, sof.components, sof.precision) == (5, 6, 3, 16)
    assert sof.lossless
    assert sof.jfif
    assert sof.component_ids == (1, 2, 3)
    dhp = codestream.jpeg_parameters(streams.hierarchical(64, 80, 32, 40))
    assert (dhp.rows, dhp.columns) == (64, 80)
    assert codestream.jpeg_parameters(streams.jpeg_ls(3, 4)).is_jpeg_ls
    assert codestream.rle_parameters(streams.rle([64, 90, 120], 150)) == codestream.RLEParameters(
        3, (64, 90, 120)
    )


# -- real files ----------------------------------------------------------------------------------
# A deliberately damaged stream: the bytes FFFE E0DD (a Sequence Delimitation Item) sit in
# its SIZ, which then says 3722445056 columns. No codec, and not pydicom, decodes it.
DAMAGED = {"JPEG2000-embedded-sequence-delimiter.dcm"}


def _encapsulated(paths: list[Path]) -> list[tuple[Path, dcf.EncapsulatedFrame]]:
    found: list[tuple[Path, dcf.EncapsulatedFrame]] = []
    for path in paths:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pixels = dcf.read(path).pixel_data
            frames = [pixels[i] for i in range(len(pixels))] if pixels.is_encapsulated else []
        except (dcf.DicomError, KeyError):
            continue
        found.extend((path, f) for f in frames if isinstance(f, dcf.EncapsulatedFrame))
    return found


def test_every_real_file_agrees_with_its_header() -> None:
    frames = _encapsulated([*pydicom_files(), *project_files()])
    assert len(frames) > 50
    refused = {path.name for path, f in frames if codestream.frame_problem(f) is not None}
    assert refused == DAMAGED


def test_the_refusal_survives_pickling(manager: CodecManager, spy: Spy) -> None:
    """Errors cross process boundaries (process pools, batch workers) by pickle."""
    import pickle

    with pytest.raises(CodestreamError) as caught:
        manager.decode(frame(streams.j2k(33, 40), J2K, index=7))
    again = pickle.loads(pickle.dumps(caught.value))
    assert isinstance(again, CodestreamError)
    assert again.frame_index == 7
    assert [a.outcome for a in again.attempts] == ["failed"]
    assert str(again) == str(caught.value)
