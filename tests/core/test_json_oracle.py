"""The DICOM JSON model against pydicom 3, the oracle, on files neither side wrote for it.

Both directions, for every file pydicom bundles, every file of pydicom-data (real
scanners of several vendors among them) and every file of testdata/:

* ours to pydicom: ``dcf.read(f).to_json()`` read by ``pydicom.Dataset.from_json``
  holds the values ``pydicom.dcmread(f)`` reads;
* pydicom to ours: ``pydicom.dcmread(f).to_json()`` read by ``dcf.Dataset.from_json``
  and written with ``dcf.write`` is a file ``pydicom.dcmread`` reads with those values.

The values are compared as plain Python (numbers as numbers, text stripped of
insignificant spaces). Deliberate differences, each with its reason:

* Group Length (gggg,0000) elements are not compared: PS3.18 F.2.2 leaves them
  out of the JSON model, and the writer recomputes them.
* Private elements of Implicit VR files: dicomframe has no private dictionary, so
  they are UN in our JSON (their bytes), where pydicom gives the VR its private
  dictionary knows; they are compared by the bytes of the file.
* Binary values of a big-endian file: our JSON holds them little endian, while
  pydicom keeps the file's bytes, in its own values and in its JSON alike; they
  are compared swapped.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

import dicomframe as dcf
from dicomframe.core.json_model import to_json
from tests.reference import REFUSED, project_files, pydicom_data_files, pydicom_files

pydicom = pytest.importorskip("pydicom")

# Files that cannot make the trip, each for a stated reason.
NOT_ROUND_TRIPPED = {
    # pydicom can neither write nor read JSON holding its IS value "1A" (it converts
    # IS to int); our JSON keeps the text as a string, as PS3.18 F.2.3 allows.
    "badVR.dcm": "pydicom's JSON conversion fails on the IS text '1A'",
}
OTHER_SYNTAX = {
    # Its private sequence (0001,0001) written in Implicit VR with a defined length is
    # read back as UN, as PS3.5 6.2.2 says a reader must; Explicit VR keeps it SQ.
    "nested_priv_SQ.dcm": "1.2.840.10008.1.2.1",
}
NOT_READ = {
    # Its Pixel Data item runs past the end of the file: a damaged file dcf.read refuses
    # (tests/interop/test_pydicom.py lists it with the same reason).
    "emri_small_jpeg_2k_lossless_too_short.dcm",
}
BIG_ENDIAN = {"1.2.840.10008.1.2.2"}
FILES = [
    p
    for p in [*pydicom_files(), *pydicom_data_files(), *project_files()]
    if p.name not in REFUSED | NOT_READ
]
_SWAPPED = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def _read_pydicom(source: Path | io.BytesIO) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pydicom.dcmread(source)
        except Exception:  # files without a preamble, read as test_oracle reads them
            if isinstance(source, io.BytesIO):
                source.seek(0)
            return pydicom.dcmread(source, force=True)


def _norm(value: Any, vr: str) -> Any:
    """A value of either library as plain Python."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).rstrip(b"\0") if value else None
    if type(value).__name__ == "MultiValue" or isinstance(value, list | tuple):
        items = [_norm(v, vr) for v in value]
        return (items[0] if len(items) == 1 else items) if items else None
    if value is None or value == "":
        return None
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    text = str(value).strip(" \0")
    return text.rstrip("=") if vr == "PN" else text


def _binary(element: Any, big_endian: bool) -> bytes:
    data = bytes(element.value or b"")
    unit = _SWAPPED.get(element.VR)
    if big_endian and unit:
        import numpy as np

        whole = len(data) - len(data) % unit
        data = np.frombuffer(data[:whole], f">u{unit}").astype(f"<u{unit}").tobytes()
    return data.rstrip(b"\0")


def _file_bytes(ds: Any, tag: int) -> bytes:
    """The bytes of a value as the file held them (raw), or a UN value's bytes."""
    item = ds.get_item(tag)
    value = item.value
    return bytes(value).rstrip(b"\0 ") if isinstance(value, bytes) else b"<decoded>"


def _differences(
    expected: Any, actual: Any, where: str = "", *, big_endian: bool = False
) -> list[str]:
    """How two pydicom datasets differ in tags and values (group lengths aside)."""
    tags_e = {int(t) for t in expected.keys() if t.element != 0}  # noqa: SIM118 - pydicom
    tags_a = {int(t) for t in actual.keys() if t.element != 0}  # noqa: SIM118
    problems = []
    if tags_e != tags_a:
        problems.append(
            f"{where}: only expected {sorted(map(hex, tags_e - tags_a))}, "
            f"only actual {sorted(map(hex, tags_a - tags_e))}"
        )
    for tag in sorted(tags_e & tags_a):
        raw_e, raw_a = _file_bytes(expected, tag), _file_bytes(actual, tag)  # before decoding
        e, a, here = expected[tag], actual[tag], f"{where}({tag >> 16:04X},{tag & 0xFFFF:04X})"
        if e.VR == "SQ" or a.VR == "SQ":
            problems += _sequence_differences(e, a, here, big_endian)
        elif "UN" in (e.VR, a.VR) and e.VR != a.VR:
            if raw_e != raw_a:
                problems.append(f"{here}: {e.VR}/{a.VR} bytes differ")
        elif {e.VR, a.VR} & {"OB", "OW", "OF", "OL", "OD", "OV", "UN"}:
            if _binary(e, big_endian) != _binary(a, False) and _norm(e.value, e.VR) != _norm(
                a.value, a.VR
            ):
                problems.append(f"{here}: {e.VR}/{a.VR} bytes differ")
        elif _norm(e.value, e.VR) != _norm(a.value, a.VR):
            problems.append(f"{here}: {_norm(e.value, e.VR)!r:.80} != {_norm(a.value, a.VR)!r:.80}")
    return problems


def _sequence_differences(e: Any, a: Any, here: str, big_endian: bool) -> list[str]:
    if e.VR != a.VR:
        return [f"{here}: VR {e.VR} != {a.VR}"]
    if len(e.value) != len(a.value):
        return [f"{here}: {len(e.value)} items != {len(a.value)}"]
    problems = []
    for n, (x, y) in enumerate(zip(e.value, a.value, strict=True)):
        problems += _differences(x, y, f"{here}[{n}]", big_endian=big_endian)
    return problems


def _ours(path: Path) -> dcf.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dcf.DicomWarning)
        return dcf.read(path, force=True)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_our_json_read_by_pydicom(path: Path) -> None:
    ours = _ours(path)
    model = ours.to_json()
    assert json.loads(model) == ours.to_json_dict()
    expected = _read_pydicom(path)
    if path.name in NOT_ROUND_TRIPPED:
        with pytest.raises(ValueError, match="1A"):
            pydicom.Dataset.from_json(model)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's complaints about the values it checks
        theirs = pydicom.Dataset.from_json(model)
        big_endian = ours.transfer_syntax is not None and not ours.transfer_syntax.is_little_endian
        problems = _differences(expected, theirs, big_endian=big_endian)
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_pydicom_json_read_and_written_by_us(path: Path) -> None:
    expected = _read_pydicom(path)
    if path.name in NOT_ROUND_TRIPPED:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(ValueError, match="1A"):
                expected.to_json()
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = expected.to_json()
    ours = dcf.Dataset.from_json(model)
    syntax = OTHER_SYNTAX.get(path.name, getattr(expected.file_meta, "TransferSyntaxUID", None))
    big_endian = syntax in BIG_ENDIAN
    written = io.BytesIO()
    dcf.write(ours, written, transfer_syntax=syntax)
    written.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        problems = _differences(expected, _read_pydicom(written), big_endian=big_endian)
    assert not problems, "\n".join(problems[:20])


def _json_file(name: str) -> str:
    from pydicom.data import get_testdata_file

    return Path(str(get_testdata_file(name))).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["test1.json", "test_PN.json"])
def test_pydicom_json_files(name: str, tmp_path: Path) -> None:
    text = _json_file(name)
    fetched: list[tuple[str, str, str]] = []

    def fetch(tag: str, vr: str, uri: str) -> bytes:
        fetched.append((tag, vr, uri))
        return bytes(range(256)) * 512  # 256 x 256 16-bit pixels, as test1.json describes

    ours = dcf.Dataset.from_json(text, bulk_data_uri_handler=fetch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pydicom.Dataset.from_json(text, bulk_data_uri_handler=fetch)
    assert fetched[: len(fetched) // 2] == fetched[len(fetched) // 2 :]
    back = pydicom.Dataset.from_json(to_json(ours, max_inline_bytes=None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not _differences(theirs, back)
    if name == "test1.json":
        # Acquisition Matrix holds a null, which binary US cannot: kept, refused on writing.
        assert ours.AcquisitionMatrix == [128, 0, 0, 32, None]
        assert fetched[0] == ("7FE00010", "OW", "")
        with pytest.raises(dcf.EncodingError, match=r"\(0018,1310\)"):
            dcf.write(ours, tmp_path / "x.dcm")
        ours.AcquisitionMatrix = [128, 0, 0, 32]
    dcf.write(ours, tmp_path / "x.dcm")
    again = _read_pydicom(tmp_path / "x.dcm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "test1.json":
            theirs.AcquisitionMatrix = [128, 0, 0, 32]
        assert not _differences(theirs, again)
