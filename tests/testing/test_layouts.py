"""The layouts check_codec builds come from the codec's Capabilities, all of them and no more."""

from __future__ import annotations

import numpy as np
import pytest

from dicomframe.plugins import Capabilities
from dicomframe.testing import Layout, layouts
from dicomframe.testing.pixels import clean, source_frame, value_range

EVERYTHING = Capabilities(
    bits_allocated=frozenset({1, 8, 16, 32, 64}), samples_per_pixel=frozenset({1, 3, 4})
)


def built(caps: Capabilities) -> list[Layout]:
    found, _ = layouts(caps)
    return found


def test_default_capabilities() -> None:
    found = built(Capabilities())
    assert {x.info.bits_allocated for x in found} == {8, 16}
    assert {x.info.photometric_interpretation for x in found} == {
        "MONOCHROME1",
        "MONOCHROME2",
        "PALETTE COLOR",
        "RGB",
        "YBR_FULL",
        "YBR_FULL_422",
    }
    signed = {x.info.photometric_interpretation for x in found if x.info.pixel_representation}
    assert signed == {"MONOCHROME1", "MONOCHROME2"}  # colour and palette data are unsigned
    planar = {x.info.photometric_interpretation for x in found if x.info.planar_configuration}
    assert planar == {"RGB", "YBR_FULL"}  # YBR_FULL_422 is planar 0 (PS3.3 C.7.6.3.1.2)
    assert all(x.info.columns % 2 == 0 for x in found if x.info.is_subsampled)
    assert {(x.info.rows, x.info.columns) for x in found} == {(7, 9), (7, 10), (1, 1), (1, 2)}


def test_bits_stored_below_bits_allocated_has_the_bits_above_set() -> None:
    below = [x for x in built(Capabilities()) if x.info.bits_stored < x.info.bits_allocated]
    assert {(x.info.bits_allocated, x.info.bits_stored) for x in below} == {(8, 6), (16, 12)}
    assert all(x.dirty for x in below)
    layout = next(x for x in below if x.info.bits_stored == 12 and x.info.pixel_representation)
    source = source_frame(layout, lossy=False, seed=1)
    low, high = value_range(layout.info)
    assert (source.data < low).any()
    assert (source.data > high).any()
    cleaned = clean(source).data
    assert cleaned.min() == low
    assert cleaned.max() == high  # the extremes of the range are in every lossless source
    assert not source.data.flags.writeable  # as a frame viewed on a file


def test_every_bits_allocated_and_samples_declared() -> None:
    found = built(EVERYTHING)
    assert {x.info.bits_allocated for x in found} == {1, 8, 16, 32, 64}
    assert {x.info.samples_per_pixel for x in found} == {1, 3, 4}
    one_bit = [x.info for x in found if x.info.bits_allocated == 1]
    assert {i.photometric_interpretation for i in one_bit} == {"MONOCHROME1", "MONOCHROME2"}
    assert {(i.bits_stored, i.pixel_representation) for i in one_bit} == {(1, 0)}
    wide = {x.info.photometric_interpretation for x in found if x.info.bits_allocated == 64}
    assert wide == {"MONOCHROME1", "MONOCHROME2", "RGB", "ARGB"}  # no 64-bit palette or YBR
    four = {x.info.photometric_interpretation for x in found if x.info.samples_per_pixel == 4}
    assert four == {"ARGB"}


@pytest.mark.parametrize("bits", [1, 8, 16, 32, 64])
def test_sources_fill_the_range(bits: int) -> None:
    for layout in built(EVERYTHING):
        if layout.info.bits_allocated != bits:
            continue
        data = clean(source_frame(layout, lossy=False, seed=3)).data
        assert data.dtype == layout.info.dtype
        assert data.size == layout.info.values_per_frame
        low, high = value_range(layout.info)
        assert data.min() == low
        assert data.max() == high or layout.info.rows * layout.info.columns == 1


def test_lossy_sources_are_smooth_and_in_range() -> None:
    layout = next(x for x in built(Capabilities()) if x.info.bits_allocated == 8)
    data = source_frame(layout, lossy=True, seed=1).array.astype(np.int64)
    assert np.abs(np.diff(data, axis=1)).max() < 40  # waves, not noise


def test_min_size_and_max_bits_stored_are_respected() -> None:
    caps = Capabilities(bits_allocated=frozenset({16}), max_bits_stored=12, min_size=32)
    found = built(caps)
    assert {(x.info.rows, x.info.columns) for x in found} == {(33, 35), (33, 36), (32, 32)}
    assert {x.info.bits_stored for x in found} == {12}
    assert all(x.dirty for x in found)


def test_declared_photometrics_only_and_a_note_for_compressed_ones() -> None:
    caps = Capabilities(photometric=frozenset({"MONOCHROME1", "YBR_ICT"}))
    found, notes = layouts(caps)
    assert {x.info.photometric_interpretation for x in found} == {"MONOCHROME1"}
    assert notes == ["YBR_ICT: not a native layout the kit builds"]


def test_capabilities_that_admit_nothing_build_nothing() -> None:
    caps = Capabilities(samples_per_pixel=frozenset({3}), photometric=frozenset({"MONOCHROME2"}))
    assert built(caps) == []
    assert built(Capabilities(bits_allocated=frozenset({1}), signed=False, max_bits_stored=0)) == []
