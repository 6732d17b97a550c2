"""get_image() and to_frame(): Pillow modes, errors, round trips, encapsulated frames.

Encapsulated paths run through a tiny zlib codec registered in a fresh
``CodecManager(entry_points=False)`` for a private transfer syntax (a codec claiming a
standard syntax must give that syntax's codestream: the registry reads its header), so
they do not depend on the real codec plugins; one test also tries the installed real codecs.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import dicomframe as dcf
from dicomframe import rendering
from dicomframe.core.transfer_syntax import TransferSyntax
from dicomframe.errors import InvalidDicomError, NoCodecError, UnknownTransferSyntaxError
from dicomframe.imaging import INFO_KEY, ImageModeError, get_image, to_frame
from dicomframe.plugins import Capabilities, Codec, CodecManager, hookimpl
from tests.plugins.fakes import PRIVATE
from tests.reference import TESTDATA, pydicom_files

NATIVE = [
    "ExplicitVRLittleEndian",
    "1.2.840.10008.1.2",
    "ExplicitVRBigEndian",
    "DeflatedExplicitVRLittleEndian",
]
ALL_BITS = Capabilities(bits_allocated=frozenset({1, 8, 16, 32, 64}))


class ZlibPlugin:
    """A real (tiny) lossless codec for a private syntax, recording its options."""

    def __init__(self) -> None:
        self.options: list[dict[str, Any]] = []

    def encode(
        self, frame: dcf.NativeFrame, syntax: TransferSyntax, /, **options: Any
    ) -> dcf.EncapsulatedFrame:
        self.options.append(options)
        data = zlib.compress(frame.data.tobytes(), int(options.get("level", 6)))
        return dcf.EncapsulatedFrame([data], frame.info.replace(transfer_syntax_uid=syntax.uid))

    def decode(self, frame: dcf.EncapsulatedFrame, /, **options: Any) -> dcf.NativeFrame:
        self.options.append(options)
        info = frame.info.replace(transfer_syntax_uid="1.2.840.10008.1.2.1")
        return dcf.NativeFrame(
            np.frombuffer(zlib.decompress(bytes(frame.data)), info.dtype).copy(), info
        )

    @hookimpl
    def dicomframe_codecs(self) -> list[Codec]:
        return [
            Codec(
                name="fake-zlib",
                transfer_syntaxes=frozenset({PRIVATE.uid}),
                decode=self.decode,
                encode=self.encode,
                decode_caps=ALL_BITS,
                encode_caps=ALL_BITS,
                modules=("zlib",),
            )
        ]

    @hookimpl
    def dicomframe_transfer_syntaxes(self) -> list[TransferSyntax]:
        return [PRIVATE]


@pytest.fixture
def plugin() -> ZlibPlugin:
    return ZlibPlugin()


@pytest.fixture
def codecs(plugin: ZlibPlugin) -> CodecManager:
    manager = CodecManager(entry_points=False)
    manager.register(plugin, name="fake-zlib")
    manager.load()  # registers the private syntax, which the tests name by keyword
    return manager


def frame_at(ds: dcf.Dataset, index: int = 0) -> dcf.NativeFrame:
    frame = ds.pixel_data[index]
    assert isinstance(frame, dcf.NativeFrame)
    return frame


def pixels(ds: dcf.Dataset, index: int = 0) -> np.ndarray:
    return frame_at(ds, index).array


def pydicom_file(name: str) -> Path:
    return next(p for p in pydicom_files() if p.name == name)


def native(array: np.ndarray | Image.Image, **info: Any) -> dcf.NativeFrame:
    frame = to_frame(array, "ExplicitVRLittleEndian", **info)
    assert isinstance(frame, dcf.NativeFrame)
    return frame


# -- values kept: one Pillow mode per dtype -------------------------------------------------------
RNG = np.random.default_rng(7)
KEPT: dict[str, tuple[np.ndarray, dict[str, Any], str]] = {
    "bits1": (RNG.integers(0, 2, (5, 7)).astype(bool), {}, "1"),
    "uint8": (RNG.integers(0, 256, (6, 9), dtype=np.uint8), {}, "L"),
    "int8": (np.array([[-128, -1, 0, 127]], dtype=np.int8), {}, "I"),
    "uint16": (np.array([[0, 1, 4095, 65535]], dtype=np.uint16), {}, "I;16"),
    "uint16-bs12": (np.array([[0, 4095]], dtype=np.uint16), {"bits_stored": 12}, "I;16"),
    "int16": (np.array([[-32768, -1, 0, 32767]], dtype=np.int16), {}, "I"),
    "int32": (np.array([[-(2**31), 0, 2**31 - 1]], dtype=np.int32), {}, "I"),
    "uint32": (np.array([[0, 2**31 - 1]], dtype=np.uint32), {}, "I"),
    "int64": (np.array([[-(2**31), 2**31 - 1]], dtype=np.int64), {}, "I"),
    "uint64": (np.array([[0, 2**31 - 1]], dtype=np.uint64), {}, "I"),
    "float32": (np.array([[-1.5, 0.0, 3.25e38, np.inf]], dtype=np.float32), {}, "F"),
    "float64-exact": (np.array([[-1.5, 0.25, 1e10]], dtype=np.float64), {}, "F"),
    "rgb": (RNG.integers(0, 256, (4, 5, 3), dtype=np.uint8), {}, "RGB"),
    "rgb-planar1": (
        RNG.integers(0, 256, (4, 5, 3), dtype=np.uint8),
        {"planar_configuration": 1},
        "RGB",
    ),
    "ybr-full": (
        RNG.integers(0, 256, (4, 5, 3), dtype=np.uint8),
        {"photometric_interpretation": "YBR_FULL"},
        "YCbCr",
    ),
    "monochrome1": (
        np.array([[0, 9]], dtype=np.uint8),
        {"photometric_interpretation": "MONOCHROME1"},
        "L",
    ),
}


@pytest.mark.parametrize("name", KEPT)
def test_kept_mode_and_values(name: str) -> None:
    array, info, mode = KEPT[name]
    frame = native(array, **info)
    image = get_image(frame)
    assert image.mode == mode
    assert image.size == (array.shape[1], array.shape[0])
    np.testing.assert_array_equal(np.asarray(image), array)
    assert image.info[INFO_KEY] == frame.info


@pytest.mark.parametrize("name", KEPT)
@pytest.mark.parametrize("syntax", [*NATIVE, PRIVATE.keyword])
def test_round_trip_is_bit_exact(name: str, syntax: str, codecs: CodecManager) -> None:
    array, info, _ = KEPT[name]
    frame = native(array, **info)
    back = to_frame(get_image(frame), syntax, codecs=codecs).decode(codecs=codecs)
    assert back.data.dtype == frame.data.dtype
    np.testing.assert_array_equal(back.data, frame.data)
    assert back.info.replace(transfer_syntax_uid=frame.info.transfer_syntax_uid) == frame.info


@pytest.mark.parametrize(
    ("array", "info", "message"),
    [
        (np.array([[0, 2**31]], dtype=np.uint32), {}, r"uint32 values 0\.\.2147483648 do not fit"),
        (np.array([[-(2**40)]], dtype=np.int64), {}, "do not fit Pillow's int32 mode 'I'"),
        (np.zeros((2, 2, 3), np.uint16), {}, "no mode for 3 samples of uint16"),
        (np.array([[0.1]]), {}, "allow_precision_loss=True"),
    ],
)
def test_no_pillow_mode_is_a_clear_error(
    array: np.ndarray, info: dict[str, Any], message: str
) -> None:
    frame = native(array, **info)
    with pytest.raises(ImageModeError, match=message) as caught:
        get_image(frame)
    assert isinstance(caught.value, dcf.DicomError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.info == frame.info
    assert "display=True" in str(caught.value)
    assert get_image(frame, display=True).mode in ("L", "RGB")  # the suggested way out works


def test_float64_precision_loss_on_request() -> None:
    values = np.array([[0.1, 1 / 3]])
    image = get_image(native(values), allow_precision_loss=True)
    assert image.mode == "F"
    np.testing.assert_array_equal(np.asarray(image), values.astype(np.float32))


def test_rgb_16_bit_displays_as_8_bit_rgb() -> None:
    array = np.array([[[0, 4095, 2048]]], dtype=np.uint16)
    image = get_image(native(array, bits_stored=12), display=True)
    assert image.mode == "RGB"
    assert np.asarray(image).tolist() == [[[0, 255, 128]]]


# -- files ----------------------------------------------------------------------------------------
FILE_FRAMES = [
    (TESTDATA / "ct_explicit_le.dcm", 0),
    (TESTDATA / "ct_explicit_be.dcm", 0),
    (TESTDATA / "mr_multiframe_uint16.dcm", 0),
    (TESTDATA / "mr_multiframe_uint16.dcm", 4),
    (TESTDATA / "rgb_planar0.dcm", 0),
    (TESTDATA / "rgb_planar1.dcm", 0),
    (TESTDATA / "bits1_3frames.dcm", 1),
    (TESTDATA / "bits1_3frames.dcm", 2),
    (TESTDATA / "float_pixels.dcm", 0),
    (TESTDATA / "odd_length_value.dcm", 0),
    (pydicom_file("CT_small.dcm"), 0),
    (pydicom_file("MR_small.dcm"), 0),
    (pydicom_file("rtdose.dcm"), 3),
    (pydicom_file("SC_rgb_small_odd.dcm"), 0),
    (pydicom_file("examples_palette.dcm"), 0),
]


@pytest.mark.parametrize(
    "syntax", ["ExplicitVRLittleEndian", "ExplicitVRBigEndian", PRIVATE.keyword]
)
@pytest.mark.parametrize(("path", "index"), FILE_FRAMES, ids=lambda x: getattr(x, "stem", str(x)))
def test_file_frames_round_trip(path: Path, index: int, syntax: str, codecs: CodecManager) -> None:
    ds = dcf.read(path)
    frame = frame_at(ds, index)
    image = get_image(ds, frame_index=index, palette=False)
    assert image.size == (frame.info.columns, frame.info.rows)
    back = to_frame(image, syntax, codecs=codecs)
    assert back.info.transfer_syntax_uid == TransferSyntax.resolve(syntax).uid
    decoded = back.decode(codecs=codecs)
    assert decoded.data.dtype == frame.data.dtype
    np.testing.assert_array_equal(decoded.data, frame.data)  # planar 1 stays planar 1
    assert decoded.info.replace(number_of_frames=frame.info.number_of_frames) == frame.info.replace(
        transfer_syntax_uid=decoded.info.transfer_syntax_uid
    )


def test_ybr_full_422_round_trips_as_ybr_full() -> None:
    ds = dcf.read(pydicom_file("SC_ybr_full_422_uncompressed.dcm"))
    frame = frame_at(ds, 0)
    back = to_frame(get_image(frame), "ExplicitVRLittleEndian")
    assert back.info.photometric_interpretation == "YBR_FULL"
    np.testing.assert_array_equal(back.decode().array, frame.array)


def test_dataset_frame_index() -> None:
    ds = dcf.read(TESTDATA / "mr_multiframe_uint16.dcm")
    for index in (0, 3, -1):
        np.testing.assert_array_equal(
            np.asarray(get_image(ds, frame_index=index)), pixels(ds, index)
        )
    np.testing.assert_array_equal(np.asarray(get_image(ds)), pixels(ds, 0))


def test_encapsulated_file_through_the_real_codecs() -> None:
    pytest.importorskip("dicomframe.codecs.pylibjpeg")
    ds = dcf.read(TESTDATA / "j2k_lossless.dcm")
    try:
        image = get_image(ds, codecs=CodecManager())
    except NoCodecError as exc:
        pytest.skip(f"no installed codec decodes it: {exc}")
    expected = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    np.testing.assert_array_equal(np.asarray(image), pixels(expected, 0))
    shown = get_image(ds, window=(40, 400), codecs=CodecManager())
    np.testing.assert_array_equal(
        np.asarray(shown), np.asarray(get_image(expected, window=(40, 400)))
    )


@pytest.mark.parametrize("name", ["uint8", "uint16", "int16", "rgb"])
def test_real_lossless_codec_round_trip(name: str) -> None:
    pytest.importorskip("dicomframe.codecs.pylibjpeg")
    array, info, _ = KEPT[name]
    frame = native(array, **info)
    manager = CodecManager()
    try:
        encoded = to_frame(get_image(frame), "JPEG2000Lossless", codecs=manager)
    except NoCodecError as exc:
        pytest.skip(f"no installed codec encodes it: {exc}")
    assert isinstance(encoded, dcf.EncapsulatedFrame)
    np.testing.assert_array_equal(encoded.decode(codecs=manager).data, frame.data)


# -- encapsulated frames through the fake codec ---------------------------------------------------
def test_to_frame_encodes_through_the_registry(plugin: ZlibPlugin, codecs: CodecManager) -> None:
    image = Image.fromarray(np.arange(12, dtype=np.uint8).reshape(3, 4))
    encoded = to_frame(image, PRIVATE.keyword, codecs=codecs, level=9, bits_stored=4)
    assert isinstance(encoded, dcf.EncapsulatedFrame)
    assert encoded.info.transfer_syntax_uid == PRIVATE.uid
    assert encoded.info.bits_stored == 4
    assert plugin.options == [{"level": 9}]  # FrameInfo fields are not encoder options
    assert zlib.decompress(bytes(encoded.data)) == bytes(range(12))


def test_get_image_decodes_with_options(plugin: ZlibPlugin, codecs: CodecManager) -> None:
    frame = native(np.array([[1, 2], [3, 4]], dtype=np.uint16))
    encoded = to_frame(frame, PRIVATE.uid, codecs=codecs)
    image = get_image(encoded, codecs=codecs, codec="fake-zlib", quality="best")
    assert image.mode == "I;16"
    np.testing.assert_array_equal(np.asarray(image), frame.array)
    assert plugin.options[-1] == {"quality": "best"}
    again = to_frame(encoded, "ExplicitVRLittleEndian", codecs=codecs).decode()
    assert again.data.tolist() == [1, 2, 3, 4]


def test_no_codec_for_the_syntax(codecs: CodecManager) -> None:
    with pytest.raises(NoCodecError):
        to_frame(np.zeros((2, 2), np.uint8), "RLELossless", codecs=codecs)


# -- to_frame: FrameInfo from arrays and images ---------------------------------------------------
@pytest.mark.parametrize(
    ("dtype", "allocated", "representation", "keyword"),
    [
        ("bool", 1, 0, "PixelData"),
        ("uint8", 8, 0, "PixelData"),
        ("int8", 8, 1, "PixelData"),
        (">u2", 16, 0, "PixelData"),
        ("<i2", 16, 1, "PixelData"),
        ("uint32", 32, 0, "PixelData"),
        ("int64", 64, 1, "PixelData"),
        ("float32", 32, 0, "FloatPixelData"),
        (">f8", 64, 0, "DoubleFloatPixelData"),
    ],
)
def test_to_frame_from_arrays(
    dtype: str, allocated: int, representation: int, keyword: str
) -> None:
    array = (np.arange(6).reshape(2, 3) % 2).astype(dtype)
    frame = native(array)
    info = frame.info
    assert (info.rows, info.columns, info.samples_per_pixel) == (2, 3, 1)
    assert (info.bits_allocated, info.bits_stored, info.high_bit) == (
        allocated,
        allocated,
        allocated - 1,
    )
    assert (info.pixel_representation, info.pixel_keyword) == (representation, keyword)
    assert info.photometric_interpretation == "MONOCHROME2"
    assert frame.data.ndim == 1
    assert frame.data.dtype == info.dtype
    assert frame.data.dtype.byteorder in "<|="
    np.testing.assert_array_equal(frame.array, array)


def test_to_frame_copies_its_input() -> None:
    array = np.arange(16, dtype=np.uint8).reshape(4, 4)
    frame = native(array[::2, ::2])
    array[0, 0] = 99
    assert frame.data.tolist() == [0, 2, 8, 10]
    assert frame.data.flags.writeable


@pytest.mark.parametrize(
    ("mode", "dtype", "pi", "allocated", "representation"),
    [
        ("1", np.uint8, "MONOCHROME2", 1, 0),
        ("L", np.uint8, "MONOCHROME2", 8, 0),
        ("I;16", np.uint16, "MONOCHROME2", 16, 0),
        ("I;16B", np.uint16, "MONOCHROME2", 16, 0),
        ("I", np.int32, "MONOCHROME2", 32, 1),
        ("F", np.float32, "MONOCHROME2", 32, 0),
        ("RGB", np.uint8, "RGB", 8, 0),
        ("YCbCr", np.uint8, "YBR_FULL", 8, 0),
    ],
)
def test_to_frame_from_fresh_images(
    mode: str, dtype: str, pi: str, allocated: int, representation: int
) -> None:
    image = Image.new(
        mode, (3, 2), 1 if mode in ("1", "L", "I;16", "I;16B", "I", "F") else (1, 2, 3)
    )
    frame = to_frame(image, "ExplicitVRLittleEndian").decode()
    info = frame.info
    assert frame.data.dtype == dtype
    assert (info.photometric_interpretation, info.bits_allocated, info.pixel_representation) == (
        pi,
        allocated,
        representation,
    )
    np.testing.assert_array_equal(frame.array, np.asarray(image).astype(dtype))


def test_stale_frame_info_is_ignored() -> None:
    frame = native(np.array([[-5, 7], [300, 0]], dtype=np.int16), bits_stored=10)
    image = get_image(frame)
    converted = image.convert("F")  # keeps .info, changes the mode
    assert INFO_KEY in converted.info
    assert native(converted).data.dtype == np.float32
    cropped = image.crop((0, 0, 1, 2))  # keeps the mode, changes the size
    assert native(cropped).data.dtype == np.int32
    assert to_frame(image, "ExplicitVRLittleEndian").info == frame.info


@pytest.mark.parametrize(
    ("source", "overrides", "check"),
    [
        (
            np.array([[0, 4095]], np.uint16),
            {"bits_stored": 12},
            {"bits_stored": 12, "high_bit": 11},
        ),
        (np.array([[0, 1]], np.uint8), {"photometric_interpretation": "MONOCHROME1"}, {}),
        (
            np.array([[-3, 300]], np.int32),
            {"bits_allocated": 16, "pixel_representation": 1},
            {"high_bit": 15},
        ),
        (
            np.array([[1.0, 2.0]]),
            {"bits_allocated": 16},
            {"pixel_keyword": "PixelData", "bits_stored": 16},
        ),
        (np.array([[1, 2]], np.int16), {"pixel_keyword": "FloatPixelData"}, {"bits_allocated": 32}),
        (np.array([[1, 2]], np.uint8), {"bits_stored": 4, "high_bit": 7}, {"high_bit": 7}),
        (np.array([[0, 1]], np.uint8), {"bits_allocated": 1}, {"bits_stored": 1, "high_bit": 0}),
    ],
)
def test_to_frame_overrides(source: Any, overrides: dict[str, Any], check: dict[str, Any]) -> None:
    frame = native(source, **overrides)
    for key, value in {**overrides, **check}.items():
        assert getattr(frame.info, key) == value
    assert frame.data.dtype == frame.info.dtype
    np.testing.assert_array_equal(frame.array, source)


def test_to_frame_planar_configuration_1() -> None:
    rgb = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    frame = native(rgb, planar_configuration=1)
    np.testing.assert_array_equal(frame.data, rgb.transpose(2, 0, 1).reshape(-1))
    np.testing.assert_array_equal(frame.array, rgb)


@pytest.mark.parametrize(
    ("source", "overrides", "error", "message"),
    [
        (
            np.array([[0, 4096]], np.uint16),
            {"bits_stored": 12},
            ValueError,
            r"0\.\.4096 do not fit Bits Stored 12",
        ),
        (np.array([[-1, 5]], np.int16), {"pixel_representation": 0}, ValueError, "unsigned"),
        (
            np.array([[40000]], np.int32),
            {"bits_allocated": 16, "pixel_representation": 1},
            ValueError,
            "-32768",
        ),
        (np.array([[0, 2]], np.uint8), {"bits_allocated": 1}, ValueError, "Bits Stored 1"),
        (np.array([[0.5]]), {"bits_allocated": 16}, ValueError, "whole numbers"),
        (
            np.zeros((2, 2), np.uint8),
            {"samples_per_pixel": 3},
            ValueError,
            "1 samples; the FrameInfo",
        ),
        (np.zeros((2, 2), np.uint8), {"rows": 5}, ValueError, "FrameInfo says 5x2"),
        (
            np.zeros((2, 2), np.uint8),
            {"photometric_interpretation": "RGB"},
            ValueError,
            "cannot make a RGB",
        ),
        (
            np.zeros((2, 2, 3), np.uint8),
            {"photometric_interpretation": "YBR_FULL_422"},
            ValueError,
            "use YBR_FULL",
        ),
        (np.zeros((2, 2), np.uint16), {"bits_stored": 20}, dcf.InvalidDicomError, "Bits Stored 20"),
    ],
)
def test_to_frame_refuses(
    source: Any, overrides: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        native(source, **overrides)


@pytest.mark.parametrize(
    "source",
    [
        np.zeros(4, np.uint8),
        np.zeros((2, 2, 2, 2), np.uint8),
        np.zeros((2, 2, 4), np.uint8),
        np.zeros((2, 2), np.complex64),
        np.zeros((2, 2), np.float16),
        np.zeros((2, 2), object),
        Image.new("P", (2, 2)),
        Image.new("RGBA", (2, 2)),
        Image.new("CMYK", (2, 2)),
        Image.new("LA", (2, 2)),
    ],
    ids=repr,
)
def test_to_frame_unknown_source(source: Any) -> None:
    with pytest.raises(ImageModeError, match=r"no DICOM|is not"):
        to_frame(source, "ExplicitVRLittleEndian")


def test_to_frame_syntax_and_options() -> None:
    array = np.zeros((2, 2, 1), np.uint8)
    for syntax in NATIVE:
        frame = to_frame(array, syntax)
        assert frame.info.transfer_syntax_uid == TransferSyntax.resolve(syntax).uid
        assert frame.info.samples_per_pixel == 1
    with pytest.raises(UnknownTransferSyntaxError, match="JPEG2000Lossles"):
        to_frame(array, "JPEG2000Lossles")
    with pytest.raises(TypeError, match=r"unexpected keyword argument.*level"):
        to_frame(array, "ExplicitVRLittleEndian", level=3)


def test_to_frame_from_frames() -> None:
    frame = frame_at(dcf.read(TESTDATA / "rgb_planar1.dcm"))
    big = to_frame(frame, "ExplicitVRBigEndian")
    assert big.info == frame.info.replace(transfer_syntax_uid="1.2.840.10008.1.2.2")
    np.testing.assert_array_equal(big.data, frame.data)


# -- get_image: rendering options and errors ------------------------------------------------------
def test_window_needs_no_dataset_but_then_sees_stored_values() -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    frame = frame_at(ds, 0)
    stored = frame.array.astype(np.float64)
    alone = np.asarray(get_image(frame, window=(40, 400)))
    np.testing.assert_array_equal(alone, rendering.to_display(rendering.window(stored, 40, 400)))
    without = np.asarray(get_image(ds, window=(40, 400), modality_lut=False))
    np.testing.assert_array_equal(without, alone)
    rescaled = rendering.to_display(rendering.window(stored * 1.25 - 1024, 40, 400))
    np.testing.assert_array_equal(
        np.asarray(get_image(frame, dataset=ds, window=(40, 400))), rescaled
    )
    np.testing.assert_array_equal(np.asarray(get_image(ds, window=(40, 400))), rescaled)


def test_modality_lut_alone_displays_the_full_range() -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    del ds.WindowCenter
    image = np.asarray(get_image(ds, modality_lut=True))
    values = pixels(ds, 0)
    assert image[values == values.min()].max() == 0
    assert image[values == values.max()].min() == 255


def test_display_image_has_no_frame_info() -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    assert INFO_KEY not in get_image(ds, display=True).info


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda ds, f: get_image(f, frame_index=0), TypeError, "frame_index"),
        (
            lambda ds, f: get_image(f, codec="pillow"),
            TypeError,
            "unexpected keyword argument.*codec",
        ),
        (lambda ds, f: get_image(ds, dataset=ds), TypeError, "not both"),
        (lambda ds, f: get_image(f.array), TypeError, "not ndarray"),
        (
            lambda ds, f: get_image(f, modality_lut=True),
            ValueError,
            "modality_lut=True needs the dataset",
        ),
        (lambda ds, f: get_image(f, voi=0), ValueError, "voi= needs the dataset"),
        (
            lambda ds, f: get_image(ds, voi=2),
            ValueError,
            "voi=2: the dataset has 2 Window Center/Width",
        ),
        (lambda ds, f: get_image(ds, voi=-1), ValueError, "voi=-1"),
        (
            lambda ds, f: get_image(f, voi_function="SIGMOID"),
            ValueError,
            "voi_function= needs a window",
        ),
        (lambda ds, f: get_image(ds, window=(40, 0)), ValueError, "at least 1"),
        (
            lambda ds, f: get_image(ds, window=(40, 10), voi_function="CUBIC"),
            ValueError,
            "not one of",
        ),
    ],
)
def test_get_image_errors(
    call: Callable[[dcf.Dataset, Any], object], error: type[Exception], message: str
) -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    with pytest.raises(error, match=message):
        call(ds, frame_at(ds, 0))


def test_colour_frames_refuse_grayscale_options() -> None:
    ds = dcf.read(TESTDATA / "rgb_planar0.dcm")
    with pytest.raises(ValueError, match="apply to MONOCHROME1/2 frames, not RGB"):
        get_image(ds, window=(100, 50))
    assert get_image(ds, display=True).mode == "RGB"
    np.testing.assert_array_equal(np.asarray(get_image(ds, display=True)), pixels(ds, 0))


def test_palette_needs_the_dataset() -> None:
    ds = dcf.read(pydicom_file("examples_palette.dcm"))
    frame = frame_at(ds, 0)
    with pytest.raises(ValueError, match="the palette needs the dataset"):
        get_image(frame)
    with pytest.raises(ValueError, match="pass palette=False"):
        get_image(ds, window=(100, 50))
    assert get_image(frame, dataset=ds).mode == "RGB"
    assert get_image(frame, palette=False).mode == "L"
    assert get_image(ds, palette=False, display=True).mode == "L"


# -- the bitmap use case: save and read back ------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "options", "mode"),
    [
        (TESTDATA / "ct_explicit_le.dcm", {"window": (40, 400)}, "L"),
        (pydicom_file("MR_small.dcm"), {"window": (600, 1600)}, "L"),
        (pydicom_file("MR_small.dcm"), {"display": True}, "L"),
        (TESTDATA / "mr_multiframe_uint16.dcm", {}, "I;16"),
        (TESTDATA / "bits1_3frames.dcm", {}, "1"),
        (TESTDATA / "rgb_planar1.dcm", {}, "RGB"),
        (pydicom_file("examples_palette.dcm"), {}, "RGB"),
    ],
    ids=lambda x: getattr(x, "name", None),
)
def test_png_reads_back(tmp_path: Path, path: Path, options: dict[str, Any], mode: str) -> None:
    ds = dcf.read(path)
    image = get_image(ds, **options)
    assert image.mode == mode
    target = tmp_path / "frame.png"
    image.save(target)
    with Image.open(target) as back:
        assert back.size == (ds.Columns, ds.Rows)
        assert back.mode == mode
        np.testing.assert_array_equal(np.asarray(back), np.asarray(image))


# -- errors from file content are DicomErrors naming the tag --------------------------------------
def built(array: np.ndarray, **attributes: Any) -> dcf.Dataset:
    """A dataset made here, attribute by attribute: native pixel data and what describes it."""
    ds = dcf.Dataset()
    ds.Rows, ds.Columns = array.shape[:2]
    ds.SamplesPerPixel = 1 if array.ndim == 2 else array.shape[2]
    ds.BitsAllocated = ds.BitsStored = array.dtype.itemsize * 8
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = int(array.dtype.kind == "i")
    ds.PhotometricInterpretation = "MONOCHROME2" if array.ndim == 2 else "RGB"
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.PixelData = np.ascontiguousarray(array).tobytes()
    return ds


GRAY = np.arange(12, dtype=np.uint8).reshape(3, 4)
RGB8 = np.zeros((2, 2, 3), np.uint8)


def lut_item(descriptor: list[int], data: bytes) -> dcf.Dataset:
    item = dcf.Dataset()
    item.add(dcf.DataElement(0x00283002, "US", descriptor))
    item.add(dcf.DataElement(0x00283006, "OW", data))
    return item


def segmented_palette(words: list[int]) -> dcf.Dataset:
    """A PALETTE COLOR dataset whose three tables are the same Segmented LUT Data (16-bit)."""
    ds = built(GRAY, PhotometricInterpretation="PALETTE COLOR")
    for channel in range(3):
        ds.add(dcf.DataElement(0x00281101 + channel, "US", [256, 0, 16]))
        ds.add(dcf.DataElement(0x00281221 + channel, "OW", np.array(words, "<u2").tobytes()))
    return ds


def not_a_sequence(ds: dcf.Dataset, tag: int) -> dcf.Dataset:
    ds.add(dcf.DataElement(tag, "OB", b"\x01\x02"))
    return ds


CONTENT_ERRORS: list[tuple[str, Callable[[], dcf.Dataset], dict[str, Any], int, str]] = [
    (
        "window-width-0",
        lambda: built(GRAY, WindowCenter=5, WindowWidth=0),
        {},
        0x00281051,
        "Window Width 0.0 must be at least 1 for LINEAR",
    ),
    (
        "window-width-negative",
        lambda: built(GRAY, WindowCenter=5, WindowWidth=-3),
        {},
        0x00281051,
        "Window Width -3.0 must be at least 1",
    ),
    (
        "window-width-0-linear-exact",
        lambda: built(GRAY, WindowCenter=5, WindowWidth=0, VOILUTFunction="LINEAR_EXACT"),
        {},
        0x00281051,
        "must be above 0",
    ),
    (
        "window-width-nan",
        lambda: built(GRAY, WindowCenter=5, WindowWidth="nan"),
        {},
        0x00281051,
        "Window Width nan",
    ),
    (
        "window-center-infinite",
        lambda: built(GRAY, WindowCenter="inf", WindowWidth=10),
        {},
        0x00281050,
        "Window Center inf is not a finite number",
    ),
    (
        "unknown-voi-function",
        lambda: built(GRAY, WindowCenter=5, WindowWidth=10, VOILUTFunction="CUBIC"),
        {},
        0x00281056,
        "VOI LUT Function 'CUBIC' is not one of",
    ),
    (
        "palette-without-luts",
        lambda: built(GRAY, PhotometricInterpretation="PALETTE COLOR"),
        {},
        0x00281101,
        "a LUT Descriptor or its LUT Data is missing",
    ),
    (
        "three-samples-monochrome2",
        lambda: built(RGB8, PhotometricInterpretation="MONOCHROME2"),
        {},
        0x00280004,
        "MONOCHROME2 has 1 sample(s) per pixel; Samples per Pixel (0028,0002) is 3",
    ),
    (
        "one-sample-rgb",
        lambda: built(GRAY, PhotometricInterpretation="RGB"),
        {},
        0x00280004,
        "RGB has 3 sample(s) per pixel; Samples per Pixel (0028,0002) is 1",
    ),
    (
        "three-samples-palette",
        lambda: built(RGB8, PhotometricInterpretation="PALETTE COLOR"),
        {},
        0x00280004,
        "PALETTE COLOR has 1 sample(s)",
    ),
    (
        "hsv",
        lambda: built(RGB8, PhotometricInterpretation="HSV"),
        {},
        0x00280004,
        "cannot display HSV samples",
    ),
    (
        "signed-ybr",
        lambda: built(np.zeros((2, 2, 3), np.int16), PhotometricInterpretation="YBR_FULL"),
        {},
        0x00280103,
        "YBR_FULL samples are unsigned; Pixel Representation is 1",
    ),
    (
        "ybr-of-1-bit",
        lambda: built(RGB8, PhotometricInterpretation="YBR_FULL", BitsStored=1, HighBit=0),
        {},
        0x00280101,
        "YBR_FULL needs at least 2 bits a sample; Bits Stored is 1",
    ),
    (
        "ybr-422-odd-pixels",
        lambda: built(
            np.zeros((1, 3, 2), np.uint8),
            SamplesPerPixel=3,
            PhotometricInterpretation="YBR_FULL_422",
        ),
        {},
        0x00280011,
        "1 Rows x 3 Columns is odd",
    ),
    (
        "voi-lut-sequence-not-a-sequence",
        lambda: not_a_sequence(built(GRAY), 0x00283010),
        {},
        0x00283010,
        "expected a sequence of items, not",
    ),
    (
        "modality-lut-sequence-not-a-sequence",
        lambda: not_a_sequence(built(GRAY), 0x00283000),
        {},
        0x00283000,
        "expected a sequence of items",
    ),
    (
        "voi-lut-of-0-bits",
        lambda: built(GRAY, VOILUTSequence=[lut_item([4, 0, 0], bytes(8))]),
        {},
        0x00283002,
        "LUT Descriptor gives 0 bits an entry, not 1 to 16",
    ),
    (
        "voi-lut-of-40-bits",
        lambda: built(GRAY, VOILUTSequence=[lut_item([4, 0, 40], bytes(8))]),
        {},
        0x00283002,
        "gives 40 bits",
    ),
    (
        "segmented-lut-cut-short",
        lambda: segmented_palette([0, 1, 100, 1, 5]),  # a linear segment without its end
        {},
        0x00281221,
        "a linear segment at entry 3 needs 1 values; 0 remain",
    ),
    (
        "segmented-lut-of-nothing",
        lambda: segmented_palette([0, 0]),
        {},
        0x00281221,
        "the LUT Data gives no entries",
    ),
    (
        "segmented-lut-expanding-without-end",
        lambda: segmented_palette([0, 1, 100] + [1, 65535, 200, 1, 65535, 100] * 50),
        {},
        0x00281221,
        "expands past 65536 entries",
    ),
]


@pytest.mark.parametrize(
    ("make", "options", "tag", "message"),
    [case[1:] for case in CONTENT_ERRORS],
    ids=[case[0] for case in CONTENT_ERRORS],
)
def test_file_content_errors_name_the_tag(
    make: Callable[[], dcf.Dataset], options: dict[str, Any], tag: int, message: str
) -> None:
    ds = make()
    with pytest.raises(InvalidDicomError) as caught:
        get_image(ds, display=True, **options)
    assert caught.value.tag == tag
    assert f"({tag >> 16:04X},{tag & 0xFFFF:04X})" in str(caught.value)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)  # old `except ValueError` still catches it


def test_the_options_a_colour_model_refuses_are_dicom_errors() -> None:
    with pytest.raises(ImageModeError, match="apply to MONOCHROME1/2 frames, not RGB"):
        get_image(built(RGB8), window=(5, 10))
    with pytest.raises(ImageModeError, match="has no Modality LUT or VOI"):
        get_image(built(GRAY, PhotometricInterpretation="PALETTE COLOR"), voi=0)
    with pytest.raises(ImageModeError, match="cannot convert uint32 YBR_FULL samples"):
        get_image(built(np.zeros((2, 2, 3), np.uint32), PhotometricInterpretation="YBR_FULL"),
                  display=True)  # fmt: skip


def test_a_window_is_checked_with_the_function_it_is_used_with() -> None:
    exact = built(GRAY, WindowCenter=5, WindowWidth=0.5, VOILUTFunction="LINEAR_EXACT")
    assert np.asarray(get_image(exact, display=True)).tolist()[1] == [0, 128, 255, 255]
    with pytest.raises(InvalidDicomError, match=r"\(0028,1051\): Window Width 0.5 must be at"):
        get_image(exact, voi_function="LINEAR")  # the file's width, the call's function
    cubic = built(GRAY, VOILUTFunction="CUBIC")
    with pytest.raises(InvalidDicomError, match=r"\(0028,1056\): VOI LUT Function 'CUBIC'"):
        get_image(cubic, window=(5, 10))  # the call's window, the file's function
    assert get_image(cubic, window=(5, 10), voi_function="LINEAR").mode == "L"


def test_display_of_a_palette_frame_is_its_palette() -> None:
    ds = dcf.read(pydicom_file("examples_palette.dcm"))
    shown = get_image(ds, display=True)
    assert shown.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(shown), np.asarray(get_image(ds)))
