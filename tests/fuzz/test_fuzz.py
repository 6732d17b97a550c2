"""Bounded structure-aware fuzzing: only a DicomError may escape, whatever the input.

Each case is a seed file (testdata/ and small pydicom files: implicit,
explicit and big endian, sequences, encapsulated JPEG, JPEG-LS, J2K and
RLE, deflated) changed by one to three structure-aware mutators (see
``tests/fuzz/mutators.py``), then read, iterated, printed, decoded (through
the registry and through each codec that claims the syntax), rendered and
written. The runs are derandomized and keep no example database, so CI
sees the same cases every time; ``tools/fuzz.py`` runs the same pieces for
as long as you like (docs/fuzzing.md).
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dicomframe as dcf
from dicomframe.core.limits import default_limits
from tests.fuzz.edits import set_element, value_bytes
from tests.fuzz.harness import FUZZ_LIMITS, Case, exercise, fuzz_limits, seeds
from tests.fuzz.layout import walk
from tests.fuzz.mutators import MUTATORS

SEEDS = seeds()
ENCAPSULATED = tuple(
    name
    for name, doc in SEEDS
    if walk(doc).syntax.startswith(("1.2.840.10008.1.2.4.", "1.2.840.10008.1.2.5"))
)
STRUCTURE = ("length", "resize", "vr", "truncate", "duplicate", "nest")
PIXELS = ("fragments", "codestream", "bomb", "attribute")
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def cases(
    names: tuple[str, ...], corpus: tuple[str, ...] = tuple(n for n, _ in SEEDS), most: int = 3
) -> st.SearchStrategy[Case]:
    """A seed changed by one to ``most`` of the named mutators (a short, replayable recipe)."""
    return st.builds(
        Case,
        st.sampled_from(corpus),
        st.lists(st.sampled_from(names), min_size=1, max_size=most).map(tuple),
        st.integers(0, 2**32 - 1),
    )


def check(case: Case, path: Path | None = None) -> None:
    """Fail with the first escaping exception itself (so hypothesis tells distinct bugs apart)."""
    data = case.data()
    if path is not None:
        path.write_bytes(data)
    escapes = exercise(data, path=path)
    if escapes:
        error = escapes[0].error
        error.add_note("escaped from: " + "; ".join(e.describe() for e in escapes))
        recipe = f"{case.seed} {','.join(case.mutators)} {case.rng}"
        error.add_note(f"replay: python tools/fuzz.py --replay {recipe}")
        raise error


def test_every_seed_is_mapped_to_its_end_and_keeps_the_contract() -> None:
    assert len(SEEDS) >= 30
    assert len(ENCAPSULATED) >= 8
    for name, doc in SEEDS:
        layout = walk(doc)
        last = max(node.end for node in layout.nodes)
        if name != "truncated.dcm":  # ends inside an element header: mapped up to it
            assert last == len(doc.plain), name
        assert exercise(doc.encode()) == [], name


def test_mutators_change_the_document() -> None:
    for name, mutator in MUTATORS.items():
        changed = 0
        for index in range(20):
            _, doc = SEEDS[index % len(SEEDS)]
            if name in ("fragments", "codestream"):
                doc = dict(SEEDS)[ENCAPSULATED[index % len(ENCAPSULATED)]]
            result = mutator(walk(doc), random.Random(index))
            changed += result is not None and result.plain != doc.plain
        assert changed >= 10, name


def test_an_inserted_element_keeps_every_defined_length_consistent() -> None:
    doc = dict(SEEDS)["sequences_defined.dcm"]
    layout = walk(doc)
    item = next(n for n in layout.nodes if n.kind == "item" and n.length is not None)
    changed = set_element(
        layout, 0x00080100, b"SH", value_bytes(b"SH", "FUZZ", True), parent=item.start
    )
    assert len(changed.plain) == len(doc.plain) + 12
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = dcf.read(changed.encode())
    found = [
        element.value
        for element in ds
        if element.vr == "SQ"
        for child in element.value
        for element in child
        if element.tag == 0x00080100
    ]
    assert "FUZZ" in found


def test_hostile_sizes_end_in_limit_errors_under_the_fuzz_limits() -> None:
    doc = dict(SEEDS)["j2k_lossless.dcm"]
    for tag in (0x00280010, 0x00280011):
        doc = set_element(walk(doc), tag, b"US", value_bytes(b"US", 60000, True))
    with fuzz_limits(), pytest.raises(dcf.LimitError, match="max_frame_bytes"):
        dcf.read(doc.encode()).pixel_data[0].decode()
    assert default_limits() != FUZZ_LIMITS


@settings(FUZZ, max_examples=600)
@given(cases(STRUCTURE))
def test_structure(case: Case) -> None:
    """Lengths, VRs, truncation, duplicated and deeply nested items."""
    check(case)


@settings(FUZZ, max_examples=600)
@given(cases(("attribute",), most=2))
def test_hostile_attributes(case: Case) -> None:
    """Rows, Columns, bits, samples, frames, photometric, windows, LUTs, syntax."""
    check(case)


@settings(FUZZ, max_examples=600)
@given(cases(PIXELS, ENCAPSULATED))
def test_encapsulated_pixel_data(case: Case) -> None:
    """Offset tables, fragments, SIZ/COD/SOF/SOS/RLE headers, size bombs."""
    check(case)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "input.dcm"


@settings(FUZZ, max_examples=500)
@given(case=cases(tuple(MUTATORS)), mapped=st.booleans())
def test_mixed(scratch: Path, case: Case, mapped: bool) -> None:
    """Every mutator stacked, half the inputs read from a mapped file with values left in it."""
    check(case, scratch if mapped else None)
