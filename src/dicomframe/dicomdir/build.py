"""Write the DICOMDIR of a folder of DICOM files: ``write_dicomdir()``.

The folder is the root of a File-set (PS3.10 8): the DICOMDIR goes in it,
and every file is named by a File ID of at most 8 components, each 1 to 8
characters of ``A-Z 0-9 _`` (PS3.10 8.2, PS3.12 Annex F). A file whose path
does not conform is not renamed, it is reported and left out, as
``dcmmkdir`` does without ``--map-filenames``; so is a file that is not DICOM
Part 10, a DICOMDIR, a file without the UIDs that place it, a SOP Class with
no record type, and a second file of an SOP Instance already added. The
DICOMDIR is written when at least one file was added.

Records are made as dcmmkdir makes them (:mod:`~dicomframe.dicomdir.records`):
one PATIENT per Patient ID, its STUDYs by Study Instance UID, their SERIES by
Series Instance UID, and one record per instance of the type its SOP Class
calls for, in the order the sorted paths first name them. The file is
Explicit VR Little Endian with defined lengths; the offsets are found by
encoding it once with zero offsets and reading back where each item starts
(offsets are 4-byte values, so filling them changes no length), then it is
encoded again with them and written atomically.
"""

from __future__ import annotations

import copy
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dicomframe.core.dataset import Dataset, to_tag
from dicomframe.core.element import DataElement, Sequence
from dicomframe.core.reader import read
from dicomframe.core.transfer_syntax import ExplicitVRLittleEndian
from dicomframe.core.uids import generate_uid, uid_name
from dicomframe.core.vr import VR
from dicomframe.core.writer import atomic_file, encode_file
from dicomframe.dicomdir.fileset import (
    DIRECTORY_RECORD_SEQUENCE,
    FIRST_RECORD,
    IN_USE,
    LOWER_LEVEL,
    NEXT_RECORD,
    RECORD_TYPE,
    REFERENCED_FILE_ID,
    text_of,
)
from dicomframe.dicomdir.records import RECORD_KEYS, Key, record_type_for
from dicomframe.errors import DicomError, InvalidDicomError

__all__ = ["DicomdirReport", "file_id", "write_dicomdir"]

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"  # PS3.4 Media Storage Directory Storage
_COMPONENT = re.compile(r"[A-Z0-9_]{1,8}")
_MAX_COMPONENTS = 8
_FILE_SET_ID = re.compile(r"[A-Z0-9_ ]{0,16}")
_IN_USE = 0xFFFF
# Value representations whose text Specific Character Set (0008,0005) governs (PS3.5 6.1.2.3).
_TEXT_VRS = frozenset({VR.PN, VR.LO, VR.SH, VR.ST, VR.LT, VR.UT, VR.UC})
# Values whose bytes do not depend on the byte order: copied as read.
_TEXT_COPIED = frozenset(
    {VR.AE, VR.AS, VR.CS, VR.DA, VR.DS, VR.DT, VR.IS, VR.TM, VR.UI, VR.UR, *_TEXT_VRS}
)
_INVENTED = {"PatientID": "DCFPAT", "StudyID": "DCFSTUDY"}  # else a number


@dataclass
class DicomdirReport:
    """What :func:`write_dicomdir` did.

    Attributes
    ----------
    output
        The DICOMDIR written (None when no file could be added).
    added
        The files the DICOMDIR references, in the order of their records.
    skipped
        ``(path, reason)`` for every file left out.
    warnings
        Keys invented or left empty, one line each, naming the file.
    """

    output: Path | None = None
    added: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def file_id(relative: Path) -> tuple[str, ...] | str:
    """The File ID components of a path relative to the File-set root, or why there are none."""
    parts = relative.parts
    if len(parts) > _MAX_COMPONENTS:
        return f"{len(parts)} path components: a File ID has at most {_MAX_COMPONENTS}"
    for part in parts:
        if not _COMPONENT.fullmatch(part):
            return f"{part!r} is not a File ID component (1-8 characters of A-Z, 0-9, _)"
    return parts


class _Node:
    """A record being built, and the records below it by their key."""

    def __init__(self, record: Dataset) -> None:
        self.record = record
        self.children: dict[str, _Node] = {}


@dataclass
class _Builder:
    """The hierarchy as files are added, and the running numbers of invented keys."""

    report: DicomdirReport
    patients: dict[str, _Node] = field(default_factory=dict)
    instances: set[str] = field(default_factory=set)
    counters: dict[str, int] = field(default_factory=dict)

    def add(self, path: Path, parts: tuple[str, ...], ds: Dataset, meta: Dataset) -> str | None:
        """Add one file's records; why it was not added, else None."""
        # The dataset's UIDs first: a meta that disagrees with them is the one that is wrong.
        sop_class = text_of(ds.get("SOPClassUID") or meta.get("MediaStorageSOPClassUID"))
        sop_instance = text_of(ds.get("SOPInstanceUID") or meta.get("MediaStorageSOPInstanceUID"))
        if not sop_class or not sop_instance:
            return "no SOP Class UID or SOP Instance UID"
        record_type = record_type_for(sop_class, uid_name(sop_class))
        if record_type is None:
            return f"SOP Class {uid_name(sop_class)} has no directory record type"
        if sop_instance in self.instances:
            return f"SOP Instance {sop_instance} is already in the DICOMDIR"
        for level in ("STUDY", "SERIES"):
            missing = [k.keyword for k in RECORD_KEYS[level] if k.kind == "required"]
            absent = [keyword for keyword in missing if not text_of(ds.get(keyword))]
            if absent:
                return f"no {', '.join(absent)}"
        patient_key = text_of(ds.get("PatientID")) or "name:" + text_of(ds.get("PatientName"))
        patient = self._node(self.patients, patient_key, "PATIENT", ds, path)
        study = self._node(patient.children, text_of(ds.StudyInstanceUID), "STUDY", ds, path)
        series = self._node(study.children, text_of(ds.SeriesInstanceUID), "SERIES", ds, path)
        leaf = _Node(self._record(record_type, ds, path))
        leaf.record.set(REFERENCED_FILE_ID, list(parts), VR.CS)
        leaf.record.set(0x00041510, sop_class, VR.UI)
        leaf.record.set(0x00041511, sop_instance, VR.UI)
        leaf.record.set(0x00041512, text_of(meta.get("TransferSyntaxUID")), VR.UI)
        series.children[sop_instance] = leaf
        self.instances.add(sop_instance)
        return None

    def _node(
        self, level: dict[str, _Node], key: str, record_type: str, ds: Dataset, path: Path
    ) -> _Node:
        node = level.get(key)
        if node is None:
            node = level[key] = _Node(self._record(record_type, ds, path))
        return node

    def _record(self, record_type: str, ds: Dataset, path: Path) -> Dataset:
        """A record of ``record_type`` with its keys from ``ds``."""
        record = Dataset()
        record.set(NEXT_RECORD, 0, VR.UL)
        record.set(IN_USE, _IN_USE, VR.US)
        record.set(LOWER_LEVEL, 0, VR.UL)
        record.set(RECORD_TYPE, record_type, VR.CS)
        for key in RECORD_KEYS[record_type]:
            element = self._key(key, ds, path)
            if element is not None:
                record.add(element)
        if record_type == "SR DOCUMENT" and "VerificationDateTime" not in record:
            _verified_at(record, ds)
        charset = ds.get("SpecificCharacterSet")
        if charset and _has_text(record):
            record.set("SpecificCharacterSet", charset, VR.CS)
        return record

    def _key(self, key: Key, ds: Dataset, path: Path) -> DataElement | None:
        """One key's element: from ``ds``, an alternative, invented, empty or none."""
        for keyword in (key.keyword, *key.alternatives):
            if keyword in ds and (key.kind in "23" or text_of(ds.get(keyword))):
                if keyword != key.keyword:
                    self._warn(path, f"{key.keyword} missing, using {keyword}")
                return _copy(ds[keyword], key.keyword)
        if key.kind == "3":
            return None
        element = Dataset().set(key.keyword, None)
        if element.vr is VR.SQ:
            return DataElement(element.tag, VR.SQ, [])
        value = self._invent(key.keyword, element.vr) if key.kind == "1" else ""
        if key.kind == "1":
            self._warn(path, f"{key.keyword} missing, writing {value or 'an empty value'}")
        return DataElement(element.tag, element.vr, value)

    def _invent(self, keyword: str, vr: VR) -> Any:
        """A running number for the IDs and numbers dcmmkdir invents; else empty."""
        if keyword not in _INVENTED and vr is not VR.IS:
            return ""
        number = self.counters.get(keyword, 0)
        self.counters[keyword] = number + 1
        return f"{_INVENTED[keyword]}{number:06d}" if keyword in _INVENTED else str(number + 1)

    def _warn(self, path: Path, message: str) -> None:
        self.report.warnings.append(f"{path}: {message}")


def write_dicomdir(
    folder: str | os.PathLike[str],
    *,
    output: str | os.PathLike[str] | None = None,
    fileset_id: str = "",
    overwrite: bool = False,
) -> DicomdirReport:
    """Write the DICOMDIR of the DICOM files under ``folder``.

    Parameters
    ----------
    folder
        The tree of files to list, walked recursively in sorted order.
    output
        The DICOMDIR to write, default ``folder/DICOMDIR``. File IDs are
        relative to its folder (the File-set's root), so every file listed
        must lie under it.
    fileset_id
        The File-set ID (0004,1130): up to 16 of ``A-Z 0-9 _`` and space.
    overwrite
        Replace an existing output; by default it is refused.

    Returns
    -------
    DicomdirReport
        What was added, skipped and invented.

    Raises
    ------
    ValueError
        A File-set ID that PS3.10 does not allow, or ``folder`` outside the
        output's folder.
    FileExistsError
        The output exists and ``overwrite`` is False.
    """
    tree = Path(folder)
    target = Path(output) if output is not None else tree / "DICOMDIR"
    if not _FILE_SET_ID.fullmatch(fileset_id):
        raise ValueError(f"File-set ID {fileset_id!r}: up to 16 of A-Z, 0-9, _ and space")
    root = target.parent.resolve()
    if not tree.resolve().is_relative_to(root):
        raise ValueError(f"{tree} is not under {root}, the File-set's root (the output's folder)")
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists (--overwrite, or overwrite=True, replaces it)")
    report = DicomdirReport()
    builder = _Builder(report)
    for path in _walk(tree):
        if path.resolve() == target.resolve():
            continue
        why = _add_file(builder, path, root)
        if why is None:
            report.added.append(path)
        else:
            report.skipped.append((path, why))
    if not builder.patients:
        return report
    dicomdir = _dataset(builder, fileset_id)
    data = _encode_with_offsets(dicomdir, builder)
    with atomic_file(target) as handle:
        handle.write(data)
    report.output = target
    report.added = _in_record_order(builder, root)
    return report


def _walk(tree: Path) -> list[Path]:
    """Every regular file under ``tree`` (not through symbolic links), sorted."""
    found: list[Path] = []
    for top, dirs, files in os.walk(tree):
        dirs.sort()
        for name in sorted(files):
            path = Path(top, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode):
                found.append(path)
    return sorted(found)


def _add_file(builder: _Builder, path: Path, root: Path) -> str | None:
    """Add ``path`` to the hierarchy; why it was left out, else None."""
    parts = file_id(path.resolve().relative_to(root))
    if isinstance(parts, str):
        return parts
    if path.name == "DICOMDIR":
        return "a DICOMDIR is not listed in a DICOMDIR"
    try:
        ds = read(path, stop_before_pixels=True)
    except (DicomError, OSError) as exc:
        return f"not readable as DICOM: {exc}"
    try:
        meta = ds.meta
        if meta is None or len(meta) == 0:
            return "not a DICOM Part 10 file (no file meta information)"
        return builder.add(path, parts, ds, meta)
    except (DicomError, ValueError) as exc:
        return str(exc)
    finally:
        ds.close()


def _flatten(builder: _Builder) -> list[tuple[Dataset, list[int], int | None]]:
    """The records in file order (depth first), each with its children's and next's indices."""
    order: list[tuple[Dataset, list[int], int | None]] = []

    def visit(nodes: list[_Node]) -> int | None:
        first: int | None = None
        previous: int | None = None
        for node in nodes:
            index = len(order)
            order.append((node.record, [], None))
            if previous is not None:
                record, children, _ = order[previous]
                order[previous] = (record, children, index)
            previous = index
            first = index if first is None else first
            below = visit(list(node.children.values()))
            if below is not None:
                order[index][1].append(below)
        return first

    visit(list(builder.patients.values()))  # depth is 4 at most: recursion is bounded
    return order


def _dataset(builder: _Builder, fileset_id: str) -> Dataset:
    """The DICOMDIR dataset, its offsets still zero."""
    ds = Dataset()
    meta = Dataset()
    meta.set("MediaStorageSOPClassUID", MEDIA_STORAGE_DIRECTORY, VR.UI)
    meta.set("MediaStorageSOPInstanceUID", generate_uid(), VR.UI)
    ds.meta = meta
    ds.set("FileSetID", fileset_id, VR.CS)
    ds.set(FIRST_RECORD, 0, VR.UL)
    ds.set(0x00041202, 0, VR.UL)  # Offset of the Last Directory Record of the Root
    ds.set("FileSetConsistencyFlag", 0, VR.US)
    items = Sequence(record for record, _, _ in _flatten(builder))
    ds.add(DataElement(DIRECTORY_RECORD_SEQUENCE, VR.SQ, items))
    return ds


def _encode(ds: Dataset) -> bytes:
    chunks = encode_file(ds, ExplicitVRLittleEndian, sequence_lengths="defined")
    return b"".join(bytes(chunk) for chunk in chunks)


def _encode_with_offsets(ds: Dataset, builder: _Builder) -> bytes:
    """Encode ``ds``, find where each item starts, fill the offsets, encode again."""
    order = _flatten(builder)
    draft = _encode(ds)
    starts = [
        min(e.offset or 0 for e in item) - 8
        for item in read(draft)[DIRECTORY_RECORD_SEQUENCE].sequence
    ]
    records = ds[DIRECTORY_RECORD_SEQUENCE].sequence
    for index, (_, children, after) in enumerate(order):
        records[index].set(NEXT_RECORD, starts[after] if after is not None else 0, VR.UL)
        records[index].set(LOWER_LEVEL, starts[children[0]] if children else 0, VR.UL)
    roots = [i for i, (record, _, _) in enumerate(order) if record.get(RECORD_TYPE) == "PATIENT"]
    ds.set(FIRST_RECORD, starts[roots[0]], VR.UL)
    ds.set(0x00041202, starts[roots[-1]], VR.UL)
    data = _encode(ds)
    if len(data) != len(draft):  # offsets are fixed-size: a change of length is a bug
        raise InvalidDicomError("the DICOMDIR changed length when its offsets were filled")
    return data


def _in_record_order(builder: _Builder, root: Path) -> list[Path]:
    """The added files in the order of their records."""
    return [
        root.joinpath(*record[REFERENCED_FILE_ID].value)
        for record, _, _ in _flatten(builder)
        if REFERENCED_FILE_ID in record
    ]


def _copy(source: DataElement, keyword: str) -> DataElement:
    """``source``'s value under ``keyword``'s tag (its own, or the key an alternative fills).

    Text is copied as the bytes read (in the file's character set, which the
    record copies too), so a value our writer would not make, such as an
    old ``1997.04.24`` date, still goes into the record as DCMTK copies it.
    Items are copied deeply: the record must share nothing with the file,
    whose source is closed once it has been read.
    """
    tag = to_tag(keyword)
    raw = source.raw
    if source.tag == tag and source.vr in _TEXT_COPIED and raw is not None:
        return DataElement(tag, source.vr, raw=bytes(raw))
    value = copy.deepcopy(source.value) if source.vr is VR.SQ else source.value
    if source.tag == tag:
        return DataElement(tag, source.vr, value)
    return Dataset().set(tag, value)


def _verified_at(record: Dataset, ds: Dataset) -> None:
    """PS3.3 F.5.18: a VERIFIED report's record holds its latest Verification DateTime.

    The instance keeps it in each item of the Verifying Observer Sequence.
    """
    if text_of(ds.get("VerificationFlag")) != "VERIFIED":
        return
    times = [
        text_of(item.get("VerificationDateTime"))
        for item in ds.get("VerifyingObserverSequence") or []
    ]
    times = [time for time in times if time]
    if times:
        record.set("VerificationDateTime", max(times))


def _has_text(record: Dataset) -> bool:
    """True when an element of ``record`` (or of its items) has a text VR."""
    for element in record:
        if element.vr in _TEXT_VRS:
            return True
        if element.vr is VR.SQ and any(_has_text(item) for item in element.sequence):
            return True
    return False
