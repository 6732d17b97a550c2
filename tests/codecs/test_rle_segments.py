"""RLE frames encoded segment by segment (``dicomframe.codecs._rle_segments``).

Segments PackBits cannot shrink are stored as literal runs. Oracles: pydicom's pure-Python
PackBits segment decoder and imagecodecs' decoder for every stored segment; imagecodecs'
searching encoder for the size the stored bytes must stay close to. Both segment-by-segment
encoders (imagecodecs-rle, pylibjpeg-rle) are checked to store a noise plane and to hand a
plane of runs to their backend, their frames decoded by pydicom.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomframe.codecs import _rle_segments, rle
from dicomframe.codecs._rle_segments import incompressible, literal_segment
from dicomframe.plugins import Codec
from tests.codecs.common import require_backend
from tests.codecs.test_rle import (
    IMAGECODECS_RLE,
    PYLIBJPEG_RLE,
    _manager,
    assert_rows_apart,
    make_frame,
    pydicom_decode,
)

Array = np.ndarray[Any, Any]


def _pydicom_segment(data: bytes) -> bytes:
    from pydicom.pixels.decoders.rle import _rle_decode_segment

    return bytes(_rle_decode_segment(data))


def _noise(rows: int, columns: int, seed: int = 0) -> Array:
    return np.random.default_rng(seed).integers(0, 256, (rows, columns), dtype=np.uint8)


@pytest.mark.parametrize("columns", [1, 2, 3, 127, 128, 129, 256, 300, 512])
@pytest.mark.parametrize("rows", [1, 5])
def test_stored_segment_decodes_to_the_plane(rows: int, columns: int) -> None:
    plane = _noise(rows, columns, seed=columns)
    stored = bytes(literal_segment(plane))
    assert _pydicom_segment(stored) == plane.tobytes()
    full, rest = divmod(columns, 128)
    assert len(stored) == rows * (columns + full + (1 if rest else 0))


def test_stored_segment_decodes_with_imagecodecs() -> None:
    require_backend(IMAGECODECS_RLE)
    import imagecodecs

    plane = _noise(9, 300)
    assert imagecodecs.packbits_decode(bytes(literal_segment(plane))) == plane.tobytes()


def test_each_row_starts_its_own_runs() -> None:
    """Literal runs of 128, then the rest of the row: no run crosses a row (PS3.5 G.3.1)."""
    plane = np.arange(2 * 130, dtype=np.uint8).reshape(2, 130)
    stored = bytes(literal_segment(plane))
    row = 128 + 1 + 2 + 1
    assert (stored[0], stored[129]) == (127, 1)  # 128 literal bytes, then 2
    assert (stored[row], stored[row + 129]) == (127, 1)
    assert stored[row + 1 : row + 129] == plane[1, :128].tobytes()


def test_noise_is_incompressible_and_runs_are_not() -> None:
    assert incompressible(_noise(512, 512))
    assert not incompressible(np.zeros((512, 512), np.uint8))
    banded = _noise(512, 512)
    banded[:, :8] = 0  # a run of 8 in every row: 6 bytes a row to save, 1.2%
    assert not incompressible(banded)


def test_the_whole_plane_decides_when_the_sampled_rows_are_noise() -> None:
    """Rows the first look skips hold runs: the count over the whole plane refuses storing."""
    plane = _noise(512, 512)
    sampled = np.zeros(512, bool)
    sampled[:: 512 // 16] = True
    plane[~sampled, :64] = 7
    assert _rle_segments._triples(plane[:: 512 // 16]) < 16
    assert not incompressible(plane)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.integers(1, 40),
    columns=st.integers(1, 700),
    alphabet=st.sampled_from([2, 4, 16, 64, 256]),
    runs=st.integers(0, 30),
    seed=st.integers(0, 2**32 - 1),
)
def test_stored_only_when_at_most_a_256th_bigger(
    rows: int, columns: int, alphabet: int, runs: int, seed: int
) -> None:
    """When a plane is stored, a searching encoder saves at most 1/256 of it, and a byte a run."""
    require_backend(IMAGECODECS_RLE)
    import imagecodecs

    rng = np.random.default_rng(seed)
    plane = rng.integers(0, alphabet, (rows, columns), dtype=np.uint8)
    for _ in range(runs):  # a few runs of random length in random places
        row, start = rng.integers(0, rows), rng.integers(0, columns)
        plane[row, start : start + rng.integers(1, 200)] = rng.integers(0, 256)
    stored = bytes(literal_segment(plane))
    assert _pydicom_segment(stored) == plane.tobytes()
    if incompressible(plane):
        searched = imagecodecs.packbits_encode(plane)
        assert len(stored) <= len(searched) + plane.size // 256 + runs + 1


# -- the segment-by-segment encoders take it ----------------------------------------------------
def _pylibjpeg_pack(plane: Array) -> bytes:
    return bytes(rle._extension().encode_segment(plane.tobytes(), plane.shape[1]))


def _imagecodecs_pack(plane: Array) -> bytes:
    import imagecodecs

    return bytes(imagecodecs.packbits_encode(plane))


ENCODERS = [IMAGECODECS_RLE, PYLIBJPEG_RLE]


def _counting(codec: Codec, monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[int]]:
    """The planes ``codec``'s backend is given, and the planes stored as literals."""
    require_backend(codec)
    searched: list[int] = []
    stored: list[int] = []
    if codec is IMAGECODECS_RLE:
        import imagecodecs

        encode = imagecodecs.packbits_encode
        monkeypatch.setattr(
            imagecodecs, "packbits_encode", lambda p: searched.append(p.size) or encode(p)
        )
    else:
        extension = rle._extension()

        class Counted:
            def encode_segment(self, data: bytes, columns: int) -> bytes:
                searched.append(len(data))
                return bytes(extension.encode_segment(data, columns))

        monkeypatch.setattr(rle, "_extension", Counted)
    store = _rle_segments.literal_segment
    monkeypatch.setattr(
        _rle_segments, "literal_segment", lambda p: stored.append(p.size) or store(p)
    )
    return searched, stored


@pytest.mark.parametrize("codec", ENCODERS, ids=lambda c: c.name)
def test_the_encoders_store_a_noise_low_byte(codec: Codec, monkeypatch: pytest.MonkeyPatch) -> None:
    """CT-like values: a smooth high byte goes to the backend, the noise low byte is stored."""
    searched, stored = _counting(codec, monkeypatch)
    rng = np.random.default_rng(5)
    values = np.repeat(np.arange(64), 64) * 64 + rng.integers(0, 256, 4096)
    frame = make_frame("<u2", shape=(64, 64), data=values.astype("<u2"))
    encoded = _manager().encode(frame, "RLELossless", codec=codec.name)
    assert searched == [4096]  # the high byte
    assert stored == [4096]  # the low byte
    assert_rows_apart(encoded)
    np.testing.assert_array_equal(pydicom_decode(encoded), frame.array)


@pytest.mark.parametrize("codec", ENCODERS, ids=lambda c: c.name)
def test_the_encoders_search_planes_with_runs(
    codec: Codec, monkeypatch: pytest.MonkeyPatch
) -> None:
    searched, stored = _counting(codec, monkeypatch)
    frame = make_frame("<u2", shape=(32, 32), data=np.repeat(np.arange(32, dtype="<u2"), 32))
    encoded = _manager().encode(frame, "RLELossless", codec=codec.name)
    assert searched == [1024, 1024]
    assert stored == []
    assert_rows_apart(encoded)
    np.testing.assert_array_equal(pydicom_decode(encoded), frame.array)


@pytest.mark.parametrize(
    "pack", [_imagecodecs_pack, _pylibjpeg_pack], ids=["imagecodecs", "pylibjpeg"]
)
@pytest.mark.parametrize(
    ("dtype", "samples"), [("u1", 1), ("u1", 3), ("<i2", 1), ("<u4", 3), ("<i8", 1)]
)
def test_segments_come_in_the_order_of_ps35_g2(pack: Any, dtype: str, samples: int) -> None:
    """Sample by sample, most significant byte first: what pydicom decodes to the frame."""
    require_backend(IMAGECODECS_RLE if pack is _imagecodecs_pack else PYLIBJPEG_RLE)
    frame = make_frame(dtype, samples, shape=(9, 140))
    encoded = rle.encapsulate_segments(_rle_segments.encode_segments(frame, pack), frame)
    assert_rows_apart(encoded)
    np.testing.assert_array_equal(pydicom_decode(encoded), frame.array)
