"""The Pillow codec: every JPEG / JPEG 2000 reference file against pydicom 3, JPEG Baseline
encoding, colour handling, the JPEG 2000 sign rule through Pillow's scaling, declines.

Oracle: ``pydicom.pixels.pixel_array(path, index=i, decoding_plugin="pillow", as_rgb=...)``,
which decodes with the same Pillow build: comparisons with it are EXACT. Comparisons with the
pylibjpeg codecs (another libjpeg, another OpenJPEG build) are exact for lossless syntaxes and
within +-2 (JPEG) or +-1 (JPEG 2000) for lossy ones: IDCT, chroma upsampling and the irreversible
wavelet are implemented differently.
"""

from __future__ import annotations

import io
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dicomframe.codecs import pillow, pylibjpeg
from dicomframe.codecs._common import J2K_SYNTAXES, jpeg_parameters
from dicomframe.color import rgb_to_ybr, ybr_to_rgb
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.errors import NoCodecError
from dicomframe.plugins import CodecManager
from dicomframe.testing import check_codec
from tests.codecs.common import case_id, read_quietly, references, require_backend

PILLOW = pillow.PILLOW
BASELINE = "1.2.840.10008.1.2.4.50"
J2K_LOSSLESS = "1.2.840.10008.1.2.4.90"
EXPLICIT_LE = "1.2.840.10008.1.2.1"

# Pillow cannot decode these; pydicom's Pillow plugin cannot either.
DECLINED = {"JPGExtended.dcm", "JPEG-lossy.dcm"}  # 12-bit JPEG Extended
FAILING = {
    "GDCMJ2K_TextGBR.dcm",  # a JP2 file whose colr box Pillow rejects: "broken data stream"
    "JPEG2000-embedded-sequence-delimiter.dcm",  # its SIZ holds (FFFE,E0DD): no image size
}


REFERENCES = references()
CASES = [p for p, uid in REFERENCES if uid in PILLOW.transfer_syntaxes]


@pytest.fixture
def codecs(manager: CodecManager) -> CodecManager:
    manager.register(pillow, "pillow")
    return manager


@pytest.fixture
def both(manager: CodecManager) -> CodecManager:
    manager.register(pillow, "pillow")
    manager.register(pylibjpeg, "pylibjpeg")
    return manager


def oracle(path: Path, index: int, *, as_rgb: bool, plugin: str = "pillow") -> Any:
    """pydicom's frame decoded by its plugin ``plugin``."""
    import pydicom
    from pydicom.pixels.utils import pixel_array

    options: dict[str, Any] = {"index": index, "decoding_plugin": plugin, "as_rgb": as_rgb}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pixel_array(path, **options)
        except ValueError:
            if path.name != "SC_rgb_jpeg.dcm":
                raise
            # It says Explicit VR but is Implicit: pydicom reads it only as a dataset.
            return pixel_array(pydicom.dcmread(path), **options)


def assert_truthful(frame: NativeFrame, source: FrameInfo) -> None:
    info = frame.info
    assert frame.data.ndim == 1
    assert frame.data.dtype == info.dtype == source.dtype
    expected_size = source.rows * source.columns * source.samples_per_pixel
    assert frame.data.size == info.values_per_frame == expected_size
    assert info.planar_configuration == 0
    assert info.transfer_syntax_uid == EXPLICIT_LE
    assert not info.is_subsampled


# -- every reference file -----------------------------------------------------------------
@pytest.mark.parametrize("path", CASES, ids=case_id)
def test_decode_matches_pydicom(codecs: CodecManager, path: Path) -> None:
    require_backend(PILLOW)
    pixels = read_quietly(path).pixel_data
    if path.name in DECLINED | FAILING:
        outcome = "declined" if path.name in DECLINED else "failed"
        with pytest.raises(NoCodecError) as caught:
            codecs.decode(pixels[0], codec=PILLOW.name)
        assert [a.outcome for a in caught.value.attempts] == [outcome]
        with pytest.raises(Exception):  # noqa: B017, PT011 - pydicom fails its own way
            oracle(path, 0, as_rgb=True)
        return
    for index in range(len(pixels)):
        for as_rgb in (True, False):
            frame = codecs.decode(pixels[index], codec=PILLOW.name, as_rgb=as_rgb)
            assert_truthful(frame, pixels.info)
            expected = oracle(path, index, as_rgb=as_rgb)
            assert frame.array.dtype == expected.dtype
            np.testing.assert_array_equal(frame.array, expected)


CROSS = [p for p in CASES if p.name not in DECLINED | FAILING]


@pytest.mark.parametrize("path", CROSS, ids=case_id)
@pytest.mark.parametrize("as_rgb", [False, True])
def test_agrees_with_the_pylibjpeg_codecs(both: CodecManager, path: Path, as_rgb: bool) -> None:
    """Another backend: exact for lossless streams; for lossy ones the decoded components may
    differ by +-2 (JPEG; +-1 seen) or +-1 (JPEG 2000; 0 seen), and RGB converted from JPEG
    YCbCr by +-4, as Cb and Cr differences are scaled by up to 1.772 (3 seen)."""
    require_backend(PILLOW)
    pixels = read_quietly(path).pixel_data
    j2k = pixels.info.transfer_syntax_uid in J2K_SYNTAXES
    other = "pylibjpeg-openjpeg" if j2k else "pylibjpeg-libjpeg"
    require_backend(both.get(other))
    tolerance = 0
    if pixels[0].transfer_syntax.is_lossy:
        tolerance = 1 if j2k else (4 if as_rgb else 2)
    for index in range(len(pixels)):
        ours = both.decode(pixels[index], codec=PILLOW.name, as_rgb=as_rgb)
        theirs = both.decode(pixels[index], codec=other, as_rgb=as_rgb)
        assert ours.info == theirs.info
        difference = np.abs(ours.data.astype(np.int64) - theirs.data.astype(np.int64))
        assert difference.max() <= tolerance


# -- encoding -------------------------------------------------------------------------------
def _psnr(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def _smooth(rows: int = 96, columns: int = 128) -> np.ndarray[Any, Any]:
    y, x = np.mgrid[0:rows, 0:columns]
    return np.stack([x * 2, y * 2, x + y], axis=-1).astype(np.uint8)


def _native(arr: np.ndarray[Any, Any], photometric: str) -> NativeFrame:
    samples = arr.shape[2] if arr.ndim == 3 else 1
    info = FrameInfo(
        rows=arr.shape[0],
        columns=arr.shape[1],
        samples_per_pixel=samples,
        photometric_interpretation=photometric,
    )
    return NativeFrame(np.ascontiguousarray(arr).reshape(-1), info)


def _sampling(data: bytes) -> list[int]:
    """Each component's HV sampling byte from SOF0."""
    start = data.index(b"\xff\xc0")
    count = data[start + 9]
    return [data[start + 11 + 3 * i] for i in range(count)]


@pytest.mark.parametrize(
    ("photometric", "sampling", "floor"),
    [
        ("YBR_FULL_422", [0x21, 0x11, 0x11], 40),
        ("YBR_FULL", [0x11] * 3, 40),
        ("RGB", [0x11] * 3, 50),
    ],
)
@pytest.mark.parametrize("decoder", ["pillow", "pylibjpeg-libjpeg"])
def test_jpeg_round_trip_is_within_a_psnr_floor(
    both: CodecManager, photometric: str, sampling: list[int], floor: float, decoder: str
) -> None:
    require_backend(PILLOW)
    require_backend(both.get(decoder))
    rgb = _smooth()
    encoded = both.encode(
        _native(rgb, "RGB"), "JPEGBaseline8Bit", photometric_interpretation=photometric
    )
    assert encoded.info.photometric_interpretation == photometric
    assert encoded.info.transfer_syntax_uid == BASELINE
    data = bytes(encoded.data)
    assert _sampling(data) == sampling
    stream = jpeg_parameters(data)
    if photometric == "RGB":
        assert (stream.component_ids, stream.adobe_transform) == ((82, 71, 66), 0)
    else:
        assert stream.jfif
    decoded = both.decode(encoded, codec=decoder)
    assert decoded.info.photometric_interpretation == "RGB"
    assert _psnr(decoded.array, rgb) > floor
    raw = both.decode(encoded, codec=decoder, as_rgb=False)
    assert raw.info.photometric_interpretation == ("RGB" if photometric == "RGB" else "YBR_FULL")


def test_ybr_full_input_is_compressed_as_it_is(codecs: CodecManager) -> None:
    require_backend(PILLOW)
    rgb = _smooth()
    ybr = _native(rgb_to_ybr(rgb), "YBR_FULL")
    for photometric in ("YBR_FULL_422", "YBR_FULL", "RGB"):
        encoded = codecs.encode(ybr, BASELINE, photometric_interpretation=photometric)
        assert encoded.info.photometric_interpretation == photometric
        assert _psnr(codecs.decode(encoded).array, rgb) > 40


def test_monochrome_round_trip_keeps_its_photometric(codecs: CodecManager) -> None:
    require_backend(PILLOW)
    grey = _smooth()[..., 2].copy()
    encoded = codecs.encode(_native(grey, "MONOCHROME1"), BASELINE)
    assert encoded.info.photometric_interpretation == "MONOCHROME1"
    decoded = codecs.decode(encoded)
    assert decoded.info.photometric_interpretation == "MONOCHROME1"
    assert _psnr(decoded.array, grey) > 40


def test_quality_option_trades_size_for_fidelity(codecs: CodecManager) -> None:
    require_backend(PILLOW)
    noisy = np.random.default_rng(3).integers(0, 255, (64, 64, 3), endpoint=True).astype(np.uint8)
    frame = _native(noisy, "RGB")
    low = codecs.encode(frame, BASELINE, quality=30)
    high = codecs.encode(frame, BASELINE, quality=95)
    assert len(low) < len(high)
    assert _psnr(codecs.decode(low).array, noisy) < _psnr(codecs.decode(high).array, noisy)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"photometric_interpretation": "YBR_ICT"}, "'YBR_ICT' is not one of"),
        ({"quality": 0}, "quality 0 is not in 1..100"),
    ],
)
def test_bad_encode_options_fail_with_a_reason(
    codecs: CodecManager, options: dict[str, Any], message: str
) -> None:
    require_backend(PILLOW)
    with pytest.raises(NoCodecError, match=message):
        codecs.encode(_native(_smooth(), "RGB"), BASELINE, **options)


def test_encode_refuses_bits_stored_below_eight(codecs: CodecManager) -> None:
    require_backend(PILLOW)
    info = FrameInfo(rows=8, columns=8, bits_stored=6, high_bit=5)
    with pytest.raises(NoCodecError, match="Bits Stored is 6") as caught:
        codecs.encode(NativeFrame(np.zeros(64, np.uint8), info), BASELINE)
    assert [a.outcome for a in caught.value.attempts] == ["failed"]


# -- colour: what the codestream says against what the dataset says ------------------------
def _jfif_ycc(rgb: np.ndarray[Any, Any]) -> bytes:
    """A JFIF YCbCr 4:4:4 stream, made by Pillow."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=95, subsampling=0)
    return out.getvalue()


def _adobe_ycc(rgb: np.ndarray[Any, Any]) -> bytes:
    """The same stream with its JFIF APP0 replaced by an Adobe APP14, transform 1 (YCbCr)."""
    data = _jfif_ycc(rgb)
    assert data[2:4] == b"\xff\xe0"
    app0_end = 4 + int.from_bytes(data[4:6], "big")
    app14 = b"\xff\xee\x00\x0eAdobe\x00\x64\x00\x00\x00\x00\x01"
    return data[:2] + app14 + data[app0_end:]


def _keep_rgb(rgb: np.ndarray[Any, Any]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=95, keep_rgb=True)
    return out.getvalue()


def _frame(data: bytes, photometric: str, shape: tuple[int, ...]) -> EncapsulatedFrame:
    info = FrameInfo(
        rows=shape[0],
        columns=shape[1],
        samples_per_pixel=3,
        photometric_interpretation=photometric,
        transfer_syntax_uid=BASELINE,
    )
    return EncapsulatedFrame([data], info)


@pytest.mark.parametrize(
    ("make", "label", "raw_photometric"),
    [
        (_adobe_ycc, "RGB", "YBR_FULL"),  # Adobe transform 1: the encoder made YCbCr
        (_jfif_ycc, "RGB", "YBR_FULL"),  # JFIF means YCbCr
        (_keep_rgb, "YBR_FULL_422", "RGB"),  # component IDs "R" "G" "B"
        (_keep_rgb, "RGB", "RGB"),  # Adobe transform 0
    ],
    ids=["adobe1-says-rgb", "jfif-says-rgb", "rgb-ids-say-ybr", "adobe0-rgb"],
)
@pytest.mark.parametrize("decoder", ["pillow", "pylibjpeg-libjpeg"])
def test_codestream_colour_markers_win_over_the_dataset(
    both: CodecManager, make: Any, label: str, raw_photometric: str, decoder: str
) -> None:
    require_backend(PILLOW)
    require_backend(both.get(decoder))
    rgb = _smooth(64, 80)
    frame = _frame(make(rgb), label, rgb.shape)
    decoded = both.decode(frame, codec=decoder)
    assert decoded.info.photometric_interpretation == "RGB"
    assert _psnr(decoded.array, rgb) > 40
    raw = both.decode(frame, codec=decoder, as_rgb=False)
    assert raw.info.photometric_interpretation == raw_photometric
    if raw_photometric == "YBR_FULL":
        np.testing.assert_array_equal(ybr_to_rgb(raw.array), decoded.array)


@pytest.mark.parametrize("decoder", ["pillow", "pylibjpeg-libjpeg"])
def test_ybr_partial_is_always_converted(both: CodecManager, decoder: str) -> None:
    """No Photometric Interpretation describes full-size YBR_PARTIAL chroma: it becomes RGB."""
    require_backend(PILLOW)
    require_backend(both.get(decoder))
    rgb = _smooth(64, 80)
    partial = rgb_to_ybr(rgb, partial=True)
    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("YCbCr", (80, 64), partial.tobytes()).save(
        out, format="JPEG", quality=95, subsampling=1
    )
    frame = _frame(out.getvalue(), "YBR_PARTIAL_422", rgb.shape)
    raw = both.decode(frame, codec=decoder, as_rgb=False)
    assert raw.info.photometric_interpretation == "RGB"
    assert _psnr(raw.array, rgb) > 35


# -- JPEG 2000 through Pillow: scaling, level shift and the sign rule ---------------------
def _j2k(values: np.ndarray[Any, Any], bits: int, *, signed: bool) -> bytes:
    from openjpeg.utils import encode_buffer

    rows, columns = values.shape
    return bytes(encode_buffer(values.tobytes(), columns, rows, 1, bits, signed))


@pytest.mark.parametrize(
    ("values", "bits", "signed", "representation"),
    [
        (np.arange(-2048, 2048, dtype=np.int16), 12, True, 1),  # level shift undone
        (np.arange(-2048, 2048, dtype=np.int16), 12, True, 0),  # signed stream, unsigned data
        (np.arange(0, 8192, 2, dtype=np.uint16), 13, False, 1),  # unsigned stream, signed data
        (np.arange(0, 4096, dtype=np.uint16) % 32, 5, False, 0),  # 5 bits scaled to 8 by Pillow
        (np.arange(-4096, 4096, 2, dtype=np.int16) % 128 - 64, 7, True, 1),
    ],
    ids=["s12-pr1", "s12-pr0", "u13-pr1", "u5-pr0", "s7-pr1"],
)
def test_j2k_sign_rule_matches_openjpeg(
    both: CodecManager, values: np.ndarray[Any, Any], bits: int, signed: bool, representation: int
) -> None:
    require_backend(PILLOW)
    require_backend(pylibjpeg.OPENJPEG)
    image = values.reshape(64, 64)
    stream_values = image.astype(np.int8 if bits <= 8 else image.dtype)
    stream_values = stream_values if signed else stream_values.astype(f"u{stream_values.itemsize}")
    allocated = 8 if bits <= 8 else 16
    info = FrameInfo(
        rows=64,
        columns=64,
        bits_allocated=allocated,
        bits_stored=bits,
        high_bit=bits - 1,
        pixel_representation=representation,
        transfer_syntax_uid=J2K_LOSSLESS,
    )
    frame = EncapsulatedFrame([_j2k(stream_values, bits, signed=signed)], info)
    ours = both.decode(frame, codec=PILLOW.name)
    reference = both.decode(frame, codec="pylibjpeg-openjpeg")
    assert ours.data.dtype == reference.data.dtype == info.dtype
    np.testing.assert_array_equal(ours.data, reference.data)
    if signed == bool(representation):
        np.testing.assert_array_equal(ours.array, image)


# -- capabilities and dispatch ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("info", "encoding", "reason"),
    [
        (
            FrameInfo(
                rows=8,
                columns=8,
                bits_allocated=16,
                bits_stored=12,
                high_bit=11,
                transfer_syntax_uid="1.2.840.10008.1.2.4.51",
            ),
            False,
            "Pillow's libjpeg decodes 8-bit JPEG only, not 12-bit JPEGExtended12Bit",
        ),
        (
            FrameInfo(
                rows=8,
                columns=8,
                samples_per_pixel=3,
                bits_allocated=16,
                bits_stored=16,
                photometric_interpretation="RGB",
                transfer_syntax_uid=J2K_LOSSLESS,
            ),
            False,
            "Pillow reduces JPEG 2000 colour samples above 8 bits to 8 bits",
        ),
        (
            FrameInfo(rows=8, columns=8, pixel_representation=1),
            True,
            "signed pixels (Pixel Representation 1) not supported",
        ),
        (
            FrameInfo(rows=8, columns=8, bits_allocated=16, bits_stored=16),
            True,
            "Bits Allocated 16 not in [8]",
        ),
        (
            FrameInfo(
                rows=8, columns=8, samples_per_pixel=3, photometric_interpretation="YBR_FULL_422"
            ),
            True,
            "Photometric Interpretation YBR_FULL_422 not supported",
        ),
        (FrameInfo(rows=8, columns=8, transfer_syntax_uid=BASELINE), False, None),
    ],
)
def test_capabilities_decline_with_reasons(
    info: FrameInfo, encoding: bool, reason: str | None
) -> None:
    assert PILLOW.why_not(info, encoding=encoding) == reason


def _jpeg_reference() -> EncapsulatedFrame:
    path = next(p for p, _ in REFERENCES if p.name == "SC_rgb_jpeg_dcmtk.dcm")
    return read_quietly(path).pixel_data[0]  # type: ignore[no-any-return]


def test_pillow_goes_before_libjpeg_and_falls_back_to_it(both: CodecManager) -> None:
    require_backend(PILLOW)
    require_backend(pylibjpeg.LIBJPEG)
    frame = _jpeg_reference()
    assert both.decode_with(frame)[1] == "pillow"
    both.block("pillow")
    assert both.decode_with(frame)[1] == "pylibjpeg-libjpeg"


def test_every_blocked_codec_is_listed(both: CodecManager) -> None:
    both.block("pillow", "pylibjpeg")
    with pytest.raises(NoCodecError) as caught:
        both.decode(_jpeg_reference())
    attempts = [(a.codec, a.outcome) for a in caught.value.attempts]
    assert attempts == [("pillow", "blocked"), ("pylibjpeg-libjpeg", "blocked")]
    assert "cannot decode JPEGBaseline8Bit (1.2.840.10008.1.2.4.50) frame 0" in str(caught.value)


def test_openjpeg_goes_before_pillow_for_jpeg_2000(both: CodecManager) -> None:
    require_backend(pylibjpeg.OPENJPEG)
    path = next(p for p, _ in REFERENCES if p.name == "MR_small_jp2klossless.dcm")
    frame = read_quietly(path).pixel_data[0]
    assert both.decode_with(frame)[1] == "pylibjpeg-openjpeg"
    assert both.decode_with(frame, block=["pylibjpeg-openjpeg"])[1] == "pillow"


def test_codec_facts() -> None:
    assert PILLOW.priority == -5
    assert pylibjpeg.LIBJPEG.priority < PILLOW.priority < pylibjpeg.OPENJPEG.priority
    assert PILLOW.requires == ("pillow>=10",)
    assert PILLOW.modules == ("PIL",)
    assert pillow.dicomframe_codecs() == [PILLOW]


def test_importing_the_plugin_imports_no_backend() -> None:
    code = (
        "import sys, dicomframe.codecs.pillow as m; m.dicomframe_codecs(); "
        "print(sorted(n for n in ('PIL', 'openjpeg', 'libjpeg') if n in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_pillow_passes_the_conformance_checks() -> None:
    require_backend(PILLOW)
    check_codec(PILLOW)


def test_decoding_loads_only_the_plugins_it_needs() -> None:
    code = (
        "import sys, dicomframe as dcf\n"
        "ds = dcf.read(sys.argv[1])\n"
        "ds.pixel_data[0].decode(codec='pillow')\n"
        "print(' '.join(sorted(m for m in sys.modules if m.endswith('ImagePlugin'))))\n"
    )
    source = str(Path(__file__).parents[2] / "testdata" / "j2k_lossless.dcm")
    out = subprocess.run(
        [sys.executable, "-c", code, source], capture_output=True, text=True, check=True
    )
    plugins = set(out.stdout.split())
    assert "PIL.Jpeg2KImagePlugin" in plugins
    # Image.open's five common plugins, and not the dozens its init() would load
    assert plugins <= {
        f"PIL.{n}ImagePlugin" for n in ("Bmp", "Gif", "Jpeg2K", "Jpeg", "Png", "Ppm")
    }
