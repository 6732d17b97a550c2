"""check_codec fails a codec with a seeded bug, one bug per test, and says what is wrong.

Each buggy codec wraps a correct one (tests/testing/buggy.py); the control
test shows the unbroken codecs pass, so each failure is the bug's.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from dicomframe.codecs import rle as rle_plugin
from dicomframe.errors import EncodeError
from dicomframe.plugins import Capabilities, CodecManager
from dicomframe.testing import check_codec
from tests.testing import buggy


def managed(*plugins: object) -> CodecManager:
    """A registry holding only ``plugins``: the codecs check_codec may cross-check with."""
    manager = CodecManager(entry_points=False)
    for plugin in plugins:
        manager.register(plugin)
    return manager


@pytest.fixture
def alone() -> CodecManager:
    return managed()


@pytest.fixture
def with_rle() -> CodecManager:
    return managed(rle_plugin)


def test_the_unbroken_codecs_pass(alone: CodecManager, with_rle: CodecManager) -> None:
    check_codec(buggy.wrap_rle("rle-copy"), manager=with_rle)
    report = check_codec(buggy.raw_codec("raw"), manager=alone)
    assert {t.info.bits_allocated for t in report.round_trips if t.info} == {8, 16, 32}


def test_low_bit_dropped_in_a_lossless_syntax(alone: CodecManager) -> None:
    codec = buggy.wrap_rle("rle-low-bit", decode=buggy.drop_low_bit)
    with pytest.raises(
        AssertionError, match=r"rle-low-bit RLELossless .*: \d+ of \d+ values differ"
    ):
        check_codec(codec, manager=alone)


def test_12_bit_data_in_16_truncated(alone: CodecManager) -> None:
    codec = buggy.wrap_rle("rle-8-bit-only", decode=buggy.truncate_above_8_bits)
    with pytest.raises(AssertionError, match=r"16/12-bit .*the source's low 8 bits"):
        check_codec(codec, manager=alone)


def test_signed_pixels_returned_unsigned(alone: CodecManager) -> None:
    codec = buggy.wrap_rle("rle-unsigned", decode=buggy.signed_as_unsigned)
    with pytest.raises(
        AssertionError,
        match=r"signed .*decode returned a FrameInfo with pixel_representation 0; the frame's is 1",
    ):
        check_codec(codec, manager=alone)


def test_rgb_labelled_ybr_full(alone: CodecManager) -> None:
    codec = buggy.wrap_rle("rle-rgb-as-ybr", decode=buggy.rgb_labelled_ybr)
    message = "YBR_FULL .*the samples are RGB, but the decoded FrameInfo says YBR_FULL"
    with pytest.raises(AssertionError, match=message):
        check_codec(codec, manager=alone)


def test_none_returned_from_decode(alone: CodecManager) -> None:
    codec = buggy.wrap_rle("rle-none", decode=buggy.returns_none)
    with pytest.raises(AssertionError, match=r"decode returned NoneType, not a NativeFrame"):
        check_codec(codec, manager=alone)


def test_32_bit_only_codec_broken_at_32_bits(alone: CodecManager) -> None:
    caps = dataclasses.replace(buggy.MONOCHROME, bits_allocated=frozenset({32}))
    codec = buggy.raw_codec(
        "raw-32", decode=buggy.swapped_at_32_bits, decode_caps=caps, encode_caps=caps
    )
    with pytest.raises(AssertionError, match=r"32-bit .*each value has its bytes swapped"):
        check_codec(codec, manager=alone)


def test_capabilities_that_admit_nothing(alone: CodecManager) -> None:
    nothing = Capabilities(samples_per_pixel=frozenset({3}), photometric=frozenset({"MONOCHROME2"}))
    codec = buggy.raw_codec("raw-nothing", decode_caps=nothing, encode_caps=nothing)
    message = (
        "no layout was exercised; nothing it encoded was verified: "
        "its encode capabilities admit nothing"
    )
    with pytest.raises(AssertionError, match=re.escape(message)):
        check_codec(codec, manager=alone)


def test_everything_declined_is_nothing_exercised(alone: CodecManager) -> None:
    codec = buggy.raw_codec("raw-declines", extra_check=lambda info: "never")
    with pytest.raises(AssertionError, match=r"no layout was exercised.*declined: raw-declines"):
        check_codec(codec, manager=alone)


# -- beyond the list: other ways codecs go wrong ---------------------------------------
def test_bits_above_bits_stored_passed_through(alone: CodecManager) -> None:
    caps = dataclasses.replace(buggy.MONOCHROME, bits_allocated=frozenset({16}))
    codec = buggy.raw_codec(
        "raw-unmasked", decode=buggy.unmasked, decode_caps=caps, encode_caps=caps
    )
    with pytest.raises(
        AssertionError, match=r"16/12-bit .*outside 0\.\.4095, the range its FrameInfo"
    ):
        check_codec(codec, manager=alone)


def test_out_buffer_claimed_but_not_filled(alone: CodecManager) -> None:
    codec = buggy.raw_codec("raw-out", decode=buggy.out_left_empty)
    with pytest.raises(AssertionError, match=r"frame 0 decoded with out=: .*values differ"):
        check_codec(codec, manager=alone)


def test_stream_only_its_own_decoder_reads(with_rle: CodecManager) -> None:
    codec = buggy.wrap_rle(
        "rle-inverted", encode=buggy.inverted_encode, decode=buggy.inverted_decode
    )
    check_codec(codec, manager=managed())  # alone, it looks right
    with pytest.raises(
        AssertionError,
        match=r"rle-inverted RLELossless .*: (pylibjpeg-)?rle decodes it differently",
    ):
        check_codec(codec, manager=with_rle)


def test_decode_only_codec_is_exercised_on_other_codecs_streams(with_rle: CodecManager) -> None:
    reader = buggy.wrap_rle("rle-reader", encode=None)
    report = check_codec(reader, manager=with_rle)
    assert report.pairs[("rle", "rle-reader", "RLELossless")] >= 40
    assert not report.round_trips
    broken = buggy.wrap_rle("rle-broken-reader", encode=None, decode=buggy.drop_low_bit)
    with pytest.raises(
        AssertionError, match=r"rle-broken-reader reading (pylibjpeg-)?rle's RLELossless"
    ):
        check_codec(broken, manager=with_rle)


def test_decode_only_codec_with_nothing_to_read(alone: CodecManager) -> None:
    reader = buggy.wrap_rle("rle-reader", encode=None)
    with pytest.raises(AssertionError, match=r"no other installed codec encodes its syntaxes"):
        check_codec(reader, manager=alone)


def test_a_lossy_codec_is_held_to_its_floor(alone: CodecManager) -> None:
    quantized = buggy.raw_codec(
        "raw-lossy",
        transfer_syntaxes=frozenset({"1.2.840.10008.1.2.4.91"}),  # JPEG 2000: a lossy syntax
        encode=buggy.quantized_encode,
    )
    report = check_codec(quantized, manager=alone)
    assert report.notes == ["raw-lossy declares no psnr_floor: its lossy results held to 30 dB"]
    assert all(t.psnr is not None and t.psnr >= 30 for t in report.round_trips)
    assert min(t.psnr or 0 for t in report.round_trips) < 45  # 8 bits less 2: about 41 dB
    with pytest.raises(AssertionError, match=r"8-bit .*PSNR \d+\.\d dB, under the 45 dB floor"):
        check_codec(dataclasses.replace(quantized, psnr_floor=45.0), manager=alone)


def test_declines_and_refusals_are_skipped_not_failed(alone: CodecManager) -> None:
    def no_32_bits(info: object) -> str | None:
        return "no 32 bits here" if getattr(info, "bits_allocated", 0) == 32 else None

    def refuse_16_bits(frame, syntax, /, **options):  # type: ignore[no-untyped-def]
        if frame.info.bits_allocated == 16:
            raise EncodeError("16 bits refused", codec="raw-picky")
        return buggy.raw_encode(frame, syntax)

    codec = buggy.raw_codec("raw-picky", extra_check=no_32_bits, encode=refuse_16_bits)
    report = check_codec(codec, manager=alone)
    assert report.declined
    assert all("no 32 bits here" in s.reason for s in report.declined)
    refused = [s for s in report.skipped if s.kind == "refused"]
    assert refused
    assert all("16 bits refused" in s.reason for s in refused)
    assert {t.info.bits_allocated for t in report.round_trips if t.info} == {8}


def test_an_encoder_that_writes_into_its_input_fails(alone: CodecManager) -> None:
    def scribbles(frame, syntax, /, **options):  # type: ignore[no-untyped-def]
        frame.data[0] = 0  # frames viewed on a file are read-only
        return buggy.raw_encode(frame, syntax)

    with pytest.raises(
        AssertionError, match=r"encode raised ValueError: assignment destination is read-only"
    ):
        check_codec(buggy.raw_codec("raw-scribbles", encode=scribbles), manager=alone)


def test_out_is_offered_flat_for_every_frame_of_a_multi_frame_object(alone: CodecManager) -> None:
    offered: list[tuple[tuple[int, ...], str, bool]] = []

    def spy(frame, /, **options):  # type: ignore[no-untyped-def]
        out = options.get("out")
        if out is not None:
            offered.append((out.shape, str(out.dtype), bool(out.flags.c_contiguous)))
        return buggy.raw_decode(frame)

    report = check_codec(buggy.raw_codec("raw-spy", decode=spy), manager=alone)
    assert len(offered) == 2 * len(report.round_trips)  # both frames of every layout
    assert ((7 * 9,), "uint32", True) in offered
    assert ((1,), "int16", True) in offered  # the minimal size
