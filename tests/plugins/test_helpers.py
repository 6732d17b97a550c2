"""dicomframe.plugins.helpers: the public helpers a codec author builds a decoder from.

Each helper is checked for the rule it keeps (the module docstring's), on arrays made here;
and the built-in codecs' private modules are checked to use these very objects, not copies.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest

from dicomframe.codecs import _common
from dicomframe.codecs.imagecodecs import common as imagecodecs_common
from dicomframe.core.frame import NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.core.transfer_syntax import JPEG2000Lossless, RLELossless
from dicomframe.plugins import helpers
from dicomframe.plugins.codestream import J2KParameters, JPEGParameters
from tests.reference import ROOT

Array = np.ndarray[Any, Any]
INFO = FrameInfo(rows=5, columns=7, bits_allocated=16, bits_stored=16, high_bit=15)
SIGNED = INFO.replace(pixel_representation=1)  # int16
RGB = FrameInfo(rows=2, columns=3, samples_per_pixel=3, photometric_interpretation="RGB")


# -- decode_target ---------------------------------------------------------------------------
def test_decode_target_fits_a_flat_or_shaped_array_of_the_frame() -> None:
    for good in (np.zeros(35, "<i2"), np.zeros((5, 7), "<i2")):
        view = helpers.decode_target(good, SIGNED, "u2")
        assert view is not None
        assert view.shape == (5, 7)  # what a backend fills
        assert view.dtype == np.dtype("u2")
        assert np.shares_memory(view, good)


def test_decode_target_takes_the_options_a_decoder_was_given() -> None:
    good = np.zeros(35, "<i2")
    view = helpers.decode_target({"out": good, "as_rgb": True}, SIGNED, "u2")
    assert view is not None
    assert np.shares_memory(view, good)
    assert helpers.decode_target({}, SIGNED, "u2") is None
    assert helpers.decode_target({"out": None}, SIGNED, "u2") is None


@pytest.mark.parametrize(
    "out",
    [
        None,
        np.zeros((7, 5), "<i2"),  # another shape of as many values
        np.zeros(34, "<i2"),  # too few
        np.zeros((5, 7), "<u2"),  # another dtype
        np.zeros((5, 14), "<i2")[:, ::2],  # not contiguous
        np.zeros(35, "<i2").tolist(),  # not an array
    ],
    ids=["none", "transposed", "short", "unsigned", "strided", "list"],
)
def test_decode_target_refuses_what_does_not_fit(out: object) -> None:
    assert helpers.decode_target(out, SIGNED, "u2") is None  # type: ignore[arg-type]


def test_decode_target_refuses_a_read_only_array_and_narrower_samples() -> None:
    frozen = np.zeros(35, "<i2")
    frozen.flags.writeable = False
    assert helpers.decode_target(frozen, SIGNED, "u2") is None
    assert helpers.decode_target(np.zeros(35, "<i2"), SIGNED, "u1") is None  # bytes, not values


def test_read_samples_of_out_stays_in_out() -> None:
    out = np.zeros(35, "<i2")
    target = helpers.decode_target(out, SIGNED, "u2")
    assert target is not None
    target[...] = 0xFFFF  # a backend writes unsigned patterns
    values = helpers.read_samples(target, 2, SIGNED)
    assert np.shares_memory(values, out)
    assert values.dtype == np.dtype("<i2")
    assert (out == -1).all()


# -- samples, sign and precision -------------------------------------------------------------
def test_container_size() -> None:
    assert [helpers.container_size(p) for p in (1, 8, 9, 16, 17, 24)] == [1, 1, 2, 2, 4, 4]


def test_read_samples_widens_to_bits_allocated_with_the_dataset_sign() -> None:
    raw = np.array([1, 255] * 17 + [3], np.uint8).tobytes()
    values = helpers.read_samples(raw, 1, SIGNED)
    assert values.dtype == np.dtype("<i2")
    assert values[:2].tolist() == [1, -1]  # read as int8, then widened


def test_read_samples_refuses_wide_samples_and_wrong_counts() -> None:
    with pytest.raises(ValueError, match="32-bit samples; Bits Allocated is 16"):
        helpers.read_samples(np.zeros(35, "u4").tobytes(), 4, INFO)
    with pytest.raises(ValueError, match="gave 34 samples; 5x7x1 needs 35"):
        helpers.read_samples(np.zeros(34, "u2").tobytes(), 2, INFO)


def test_sign_extend_reads_patterns_in_the_arrays_own_sign() -> None:
    signed = np.array([0x0FFF, 0x0800, 0x07FF], "<i2")
    assert helpers.sign_extend(signed, 12).tolist() == [-1, -2048, 2047]
    unsigned = np.array([0xF123], "<u2")
    assert helpers.sign_extend(unsigned, 12).tolist() == [0x123]  # bits above 12 cleared
    same = np.array([5], "<u2")
    assert helpers.sign_extend(same, 16) is same


def test_correct_j2k_sign_acts_only_when_siz_disagrees_with_the_dataset() -> None:
    unsigned_stream = J2KParameters(5, 7, 1, 12, signed=False, mct=False, jp2=False)
    signed_stream = J2KParameters(5, 7, 1, 12, signed=True, mct=False, jp2=False)
    values = np.array([0x0FFF], "<i2")
    assert helpers.correct_j2k_sign(values, SIGNED, unsigned_stream).tolist() == [-1]
    untouched = np.array([0x0FFF], "<i2")
    assert helpers.correct_j2k_sign(untouched, SIGNED, signed_stream).tolist() == [0x0FFF]


# -- colour ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("stream", "photometric", "decoded"),
    [
        (JPEGParameters(8, 2, 3, 1), "MONOCHROME2", "MONOCHROME2"),
        (JPEGParameters(8, 2, 3, 3, component_ids=(0x52, 0x47, 0x42)), "YBR_FULL_422", "RGB"),
        (JPEGParameters(8, 2, 3, 3, adobe_transform=1), "RGB", "YBR_FULL"),
        (JPEGParameters(8, 2, 3, 3, jfif=True), "RGB", "YBR_FULL"),
        (JPEGParameters(8, 2, 3, 3), "YBR_FULL_422", "YBR_FULL"),
        (JPEGParameters(8, 2, 3, 3), "RGB", "RGB"),
        (JPEGParameters(8, 2, 3, 3), "YBR_PARTIAL_420", "YBR_PARTIAL_420"),
    ],
)
def test_jpeg_colour_space(stream: JPEGParameters, photometric: str, decoded: str) -> None:
    assert helpers.jpeg_colour_space(stream, photometric) == decoded


def test_j2k_colour_space() -> None:
    assert helpers.j2k_colour_space("YBR_ICT") == helpers.j2k_colour_space("YBR_RCT") == "RGB"
    assert helpers.j2k_colour_space("YBR_FULL_422") == "YBR_FULL"
    assert helpers.j2k_colour_space("MONOCHROME1") == "MONOCHROME1"


def test_finish_colour_converts_ycbcr_only_when_asked() -> None:
    grey = np.full(18, 128, np.uint8)  # Y = Cb = Cr = 128: mid grey in both models
    values, photometric = helpers.finish_colour(grey, RGB, "YBR_FULL", as_rgb=False)
    assert (values is grey, photometric) == (True, "YBR_FULL")
    values, photometric = helpers.finish_colour(grey, RGB, "YBR_FULL", as_rgb=True)
    assert photometric == "RGB"
    assert values.shape == (18,)
    assert np.abs(values.astype(int) - 128).max() <= 1


def test_finish_colour_centres_chroma_at_the_precision_the_ycbcr_was_made_at() -> None:
    six = RGB.replace(bits_stored=6, high_bit=5)
    grey = np.tile(np.array([30, 128, 128], np.uint8), 6)  # 8-bit YCbCr of RGB (30, 30, 30)
    values, photometric = helpers.finish_colour(grey, six, "YBR_FULL", as_rgb=True, precision=8)
    assert photometric == "RGB"
    assert np.abs(values.astype(int) - 30).max() <= 1
    wrong, _ = helpers.finish_colour(grey, six, "YBR_FULL", as_rgb=True)  # at Bits Stored 6
    assert np.abs(wrong.astype(int) - 30).max() > 20


def test_finish_colour_always_converts_studio_range_and_refuses_signed() -> None:
    partial = np.tile(np.array([16, 128, 128], np.uint8), 6)  # studio-range black
    values, photometric = helpers.finish_colour(partial, RGB, "YBR_PARTIAL_420", as_rgb=False)
    assert photometric == "RGB"
    assert values.max() <= 1
    with pytest.raises(ValueError, match="cannot convert signed YBR_FULL"):
        helpers.finish_colour(np.zeros(18, np.int8), RGB, "YBR_FULL", as_rgb=True)


# -- encoding and frames ---------------------------------------------------------------------
def test_check_range_refuses_values_beyond_bits_stored() -> None:
    twelve = INFO.replace(bits_stored=12, high_bit=11)
    helpers.check_range(np.array([0, 4095], "<u2"), twelve)
    with pytest.raises(ValueError, match=r"values 0\.\.4096 do not fit Bits Stored 12"):
        helpers.check_range(np.array([0, 4096], "<u2"), twelve)
    signed = twelve.replace(pixel_representation=1)
    helpers.check_range(np.array([-2048, 2047], "<i2"), signed)
    with pytest.raises(ValueError, match=r"\(-2048\.\.2047\)"):
        helpers.check_range(np.array([-2049], "<i2"), signed)


def test_interleaved_makes_planar_frames_colour_by_pixel() -> None:
    planar = RGB.replace(planar_configuration=1)
    frame = NativeFrame(np.arange(18, dtype=np.uint8), planar)
    arr = helpers.interleaved(frame)
    assert arr.shape == (2, 3, 3)
    assert arr.flags.c_contiguous
    assert arr[0, 0].tolist() == [0, 6, 12]


def test_native_and_encapsulated_frames_say_what_they_are() -> None:
    info = RGB.replace(planar_configuration=1, transfer_syntax_uid=JPEG2000Lossless.uid)
    native = helpers.native_frame(np.zeros(18, np.uint8), info, "YBR_FULL")
    assert native.info.photometric_interpretation == "YBR_FULL"
    assert native.info.planar_configuration == 0
    assert native.info.transfer_syntax_uid == "1.2.840.10008.1.2.1"
    native.index = 4
    encoded = helpers.encapsulated_frame(b"\x01\x02", native, RLELossless, "RGB")
    assert encoded.fragments == (b"\x01\x02",)
    assert encoded.index == 4
    assert encoded.info.transfer_syntax_uid == RLELossless.uid
    assert encoded.info.photometric_interpretation == "RGB"


# -- one home --------------------------------------------------------------------------------
def test_the_builtin_codecs_use_the_public_helpers_not_copies() -> None:
    for name in helpers.__all__:
        if hasattr(_common, name):
            assert getattr(_common, name) is getattr(helpers, name), name
    assert imagecodecs_common.helpers is helpers


def test_every_helper_is_documented_in_its_docstring_and_in_the_guide() -> None:
    guide = (ROOT / "docs" / "plugins.md").read_text()
    for name in helpers.__all__:
        value = getattr(helpers, name)
        if inspect.isfunction(value) or inspect.isclass(value):
            assert inspect.getdoc(value), name
        assert f"`{name}" in guide, f"docs/plugins.md does not document {name}"
