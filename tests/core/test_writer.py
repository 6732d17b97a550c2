"""Writing: round trips in every writable syntax, byte-exact re-writes, DCMTK reads our files."""

from __future__ import annotations

import os
import signal
import subprocess
import warnings
import zlib
from pathlib import Path
from typing import Any

import pytest

import dicomframe as dcf
from dicomframe.core import writer as writer_module
from dicomframe.core.signals import Terminated, unwind
from tests.reference import (
    REFUSED,
    dataset_differences,
    project_files,
    pydicom_files,
    require_tool,
)

NATIVE_SYNTAXES = [
    "ImplicitVRLittleEndian",
    "ExplicitVRLittleEndian",
    "ExplicitVRBigEndian",
    "DeflatedExplicitVRLittleEndian",
]
FILES = [p for p in pydicom_files() + project_files() if p.name not in REFUSED]


def _read(path: Path | bytes) -> dcf.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dcf.DicomWarning)
        try:
            return dcf.read(path)
        except dcf.InvalidDicomError:
            return dcf.read(path, force=True)


def _targets(ds: dcf.Dataset) -> list[str]:
    """The syntaxes ``ds`` can be written in without re-encoding its pixels."""
    pixels = ds._elements.get(dcf.Tag(0x7FE00010))  # type: ignore[call-overload]
    if pixels is not None and pixels.undefined_length:
        assert ds.transfer_syntax is not None
        return [ds.transfer_syntax.keyword]
    return NATIVE_SYNTAXES


CT_SMALL = next(p for p in FILES if p.name == "CT_small.dcm")
CASES = [(p, s) for p in FILES for s in _targets(_read(p))]


@pytest.mark.parametrize(("path", "syntax"), CASES, ids=lambda x: getattr(x, "name", x))
def test_round_trip(tmp_path: Path, path: Path, syntax: str) -> None:
    original = _read(path)
    out = tmp_path / "out.dcm"
    dcf.write(original, out, transfer_syntax=syntax)
    again = dcf.read(out)
    assert again.transfer_syntax is not None
    assert again.transfer_syntax.keyword == syntax
    problems = dataset_differences(again, original, implicit=syntax == "ImplicitVRLittleEndian")
    assert not problems, "\n".join(problems[:10])
    # The second generation is stable: writing it again gives the same bytes.
    out2 = tmp_path / "out2.dcm"
    dcf.write(again, out2)
    assert out2.read_bytes() == out.read_bytes()


def _body(data: bytes) -> bytes:
    """The dataset after the file meta group (whose implementation UIDs change), inflated."""
    ds = _read(data)
    assert ds.meta is not None
    last = ds.meta.elements()[-1]
    assert last.offset is not None
    end = last.offset + 12 + len(last.raw or b"")
    if last.vr.value not in ("OB", "UN", "UT", "UC", "UR", "SQ", "OW"):
        end -= 4
    body = data[end:]
    if ds.transfer_syntax is not None and ds.transfer_syntax.is_deflated:
        body = zlib.decompress(body, -zlib.MAX_WBITS)
    return body


# Files whose encoding is not canonical, so a re-write differs on purpose.
NOT_CANONICAL = {
    # odd-length values are padded to even length on writing (PS3.5 7.1.1)
    "odd_length_value.dcm",
    "meta_missing_tsyntax.dcm",
    "nested_priv_SQ.dcm",
    # a (gggg,0000) group length that does not match the group; recomputed on writing
    "693_J2KI.dcm",
    "chrJapMulti.dcm",
    "chrKoreanMulti.dcm",
    # UN elements whose tag the dictionary knows: written with their real VR (PS3.5 6.2.2)
    "UN_sequence.dcm",
    "J2K_pixelrep_mismatch.dcm",
    "rtdose_rle.dcm",
    "rtdose_rle_1frame.dcm",
    # encapsulated Pixel Data declared OW: read and written as OB (PS3.5 A.4)
    "SC_rgb_rle_16bit.dcm",
    "SC_rgb_rle_16bit_2frame.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "MR_small_jp2klossless.dcm",
    # Implicit VR data in a file that declares an explicit syntax: written as declared
    "SC_rgb_jpeg.dcm",
}


def _is_part10(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(132)[128:] == b"DICM"


PART10 = [p for p in FILES if _is_part10(p)]


@pytest.mark.parametrize(
    "path", [p for p in PART10 if p.name not in NOT_CANONICAL], ids=lambda p: p.name
)
def test_rewrite_is_byte_identical(tmp_path: Path, path: Path) -> None:
    ds = _read(path)
    out = tmp_path / "same.dcm"
    dcf.write(ds, out)
    assert _body(out.read_bytes()) == _body(path.read_bytes())


@pytest.mark.parametrize(
    "path", [p for p in PART10 if p.name in NOT_CANONICAL], ids=lambda p: p.name
)
def test_non_canonical_inputs_are_normalised(tmp_path: Path, path: Path) -> None:
    """The list above stays honest: each of these really is re-written differently, once."""
    out = tmp_path / "once.dcm"
    dcf.write(_read(path), out)
    assert _body(out.read_bytes()) != _body(path.read_bytes())
    again = tmp_path / "twice.dcm"
    dcf.write(dcf.read(out), again)
    assert _body(again.read_bytes()) == _body(out.read_bytes())


# Inputs holding elements in groups PS3.5 7.1 forbids ((0001,xxxx)); they are kept, and DCMTK
# says so.
ILLEGAL_GROUPS = {"nested_priv_SQ.dcm", "meta_missing_tsyntax.dcm"}


def _dcmdump_complaints(path: Path) -> list[str]:
    dcmdump = require_tool("dcmdump")
    result = subprocess.run([dcmdump, "-dc", str(path)], capture_output=True, check=False)
    assert result.returncode == 0
    lines = (result.stdout + result.stderr).decode("latin-1").splitlines()
    return [line for line in lines if line.startswith(("W:", "E:", "F:"))]


@pytest.mark.parametrize(("path", "syntax"), CASES, ids=lambda x: getattr(x, "name", x))
def test_dcmdump_reads_our_files_cleanly(tmp_path: Path, path: Path, syntax: str) -> None:
    out = tmp_path / "out.dcm"
    dcf.write(_read(path), out, transfer_syntax=syntax)
    complaints = _dcmdump_complaints(out)
    if path.name in ILLEGAL_GROUPS:
        # The only complaints are the forbidden elements the input holds, kept as read.
        complaints = [c for c in complaints if "(0001," not in c]
    assert not complaints, "\n".join(complaints[:10])


def test_meta_is_regenerated(tmp_path: Path) -> None:
    ds = _read(CT_SMALL)
    out = tmp_path / "x.dcm"
    dcf.write(ds, out, transfer_syntax="1.2.840.10008.1.2")
    meta = dcf.read(out).meta
    assert meta is not None
    assert meta.TransferSyntaxUID == "1.2.840.10008.1.2"
    assert meta.ImplementationClassUID == writer_module.IMPLEMENTATION_CLASS_UID
    assert meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID


def test_unencodable_value_fails_before_writing(tmp_path: Path) -> None:
    ds = _read(CT_SMALL)
    ds.Rows = 70000  # US holds 0..65535
    out = tmp_path / "bad.dcm"
    with pytest.raises(dcf.EncodingError, match="70000"):
        dcf.write(ds, out)
    assert not out.exists()
    assert os.listdir(tmp_path) == []


def test_failed_write_keeps_the_existing_file(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "keep.dcm"
    out.write_bytes(b"precious")

    def broken(chunks, handle):  # type: ignore[no-untyped-def]
        handle.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer_module, "_write_chunks", broken)
    with pytest.raises(dcf.WriteError, match="No space") as info:
        dcf.write(_read(CT_SMALL), out)
    assert info.value.path == str(out)
    assert out.read_bytes() == b"precious"
    assert sorted(os.listdir(tmp_path)) == ["keep.dcm"]


def test_native_pixels_cannot_be_written_as_compressed(tmp_path: Path) -> None:
    ds = _read(CT_SMALL)
    with pytest.raises(dcf.EncodingError, match="transcode"):
        dcf.write(ds, tmp_path / "x.dcm", transfer_syntax="JPEG2000Lossless")


def test_sequence_length_normalisation(tmp_path: Path) -> None:
    ds = _read(next(p for p in FILES if p.name == "rtplan.dcm"))
    for mode in ("defined", "undefined"):
        out = tmp_path / f"{mode}.dcm"
        dcf.write(ds, out, sequence_lengths=mode)
        again = dcf.read(out)
        assert again == ds
        sequences = [e for e in again if e.vr is dcf.VR.SQ]
        assert sequences
        assert all(e.undefined_length == (mode == "undefined") for e in sequences)


def test_write_to_file_object(tmp_path: Path) -> None:
    ds = _read(CT_SMALL)
    with open(tmp_path / "f.dcm", "wb") as handle:
        dcf.write(ds, handle)
    assert dcf.read(tmp_path / "f.dcm") == ds


def test_a_symlink_destination_is_replaced_not_written_through(tmp_path: Path) -> None:
    victim, link = tmp_path / "victim.dcm", tmp_path / "out.dcm"
    victim.write_bytes(b"somebody else's file")
    link.symlink_to(victim)
    dcf.write(_read(CT_SMALL), link)
    assert not link.is_symlink()
    assert victim.read_bytes() == b"somebody else's file"
    assert dcf.read(link) == _read(CT_SMALL)


def test_a_signal_as_the_temporary_file_is_made_is_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SIGTERM arrives just as the temporary file exists but its name is not yet kept: it
    # is raised once the name is, so the file is removed on the way out.
    out = tmp_path / "keep.dcm"
    out.write_bytes(b"precious")
    exclusive = writer_module._exclusive
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)  # as in a fresh process

    def signalled(*args: Any, **kwargs: Any) -> tuple[int, str]:
        made = exclusive(*args, **kwargs)
        assert signal.getsignal(signal.SIGTERM) is unwind  # else the signal would end pytest
        signal.raise_signal(signal.SIGTERM)
        return made

    monkeypatch.setattr(writer_module, "_exclusive", signalled)
    try:
        with pytest.raises(Terminated):
            dcf.write(_read(CT_SMALL), out)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert out.read_bytes() == b"precious"
    assert sorted(os.listdir(tmp_path)) == ["keep.dcm"]


def test_a_large_file_is_handed_to_writeback_as_it_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each 8 MiB written is handed to the kernel's writeback at once, so the sync before the
    # rename waits only for the rest; the file is the same either way.
    advised: list[tuple[int, int, int]] = []
    monkeypatch.setattr(
        writer_module,
        "_FADVISE",
        lambda fd, start, length, advice: advised.append((start, length, advice)),
    )
    monkeypatch.setattr(writer_module, "_WRITEBACK_BYTES", 1 << 20)
    out = tmp_path / "big.bin"
    chunk = os.urandom(300_000)
    with writer_module.atomic_file(out) as handle:
        for _ in range(10):
            handle.write(chunk)
    assert out.read_bytes() == chunk * 10
    assert [start for start, _, _ in advised] == [0, 1_200_000]  # the last 600 kB: the sync
    assert all(length == 1_200_000 for _, length, _ in advised)
    assert {advice for _, _, advice in advised} == {os.POSIX_FADV_DONTNEED}
    assert sorted(os.listdir(tmp_path)) == ["big.bin"]


def test_the_temporary_file_is_owner_only_until_it_takes_the_old_mode(tmp_path: Path) -> None:
    out = tmp_path / "keep.dcm"
    out.write_bytes(b"old")
    out.chmod(0o640)
    fd, temp = writer_module._exclusive(str(tmp_path), "keep.dcm")
    try:
        assert os.stat(temp).st_mode & 0o777 == 0o600
        assert os.path.basename(temp).startswith(".keep.dcm.")
        assert temp.endswith(".tmp")
        other, second = writer_module._exclusive(str(tmp_path), "keep.dcm")
        os.close(other)
        os.unlink(second)
        assert second != temp  # a new name each time
    finally:
        os.close(fd)
        os.unlink(temp)
    dcf.write(_read(CT_SMALL), out)
    assert os.stat(out).st_mode & 0o777 == 0o640
