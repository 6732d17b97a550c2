"""Which directory record an instance gets, and the keys each record type holds.

PS3.3 F.5 names a record type for each kind of SOP Instance (IMAGE for
images, SR DOCUMENT for structured reports, RT PLAN for plans...) and, per
record type, the attributes the record copies from the instance. The keys
here are the ones DCMTK's ``dcmmkdir`` writes for the General Purpose
profile, with the same rules for what is missing:

- ``required`` keys (the UIDs that place an instance in the hierarchy, and
  Modality): without them the file is not added;
- Type 1 keys: taken from the file, else from the alternatives dcmmkdir
  uses (Study Date from Series, Acquisition or Content Date...), else
  invented as ``dcmmkdir --invent`` does when they are IDs or numbers
  (Patient ID, Study ID, Series and Instance Number: a running number),
  else written empty; each with a warning;
- Type 2 keys: written empty when the file has none;
- Type 3 and 1C keys: written only when the file has them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RECORD_KEYS", "Key", "record_type_for"]

_STORAGE = "1.2.840.10008.5.1.4.1.1."


@dataclass(frozen=True)
class Key:
    """One attribute of a directory record: its keyword, its type, its alternatives."""

    keyword: str
    kind: str  # "required", "1" (see above), "2" (empty when absent), "3" (only when present)
    alternatives: tuple[str, ...] = ()


def _k(keyword: str, kind: str = "3", *alternatives: str) -> Key:
    return Key(keyword, kind, alternatives)


_CONTENT = (_k("ContentDate", "1"), _k("ContentTime", "1"))
_NUMBER = _k("InstanceNumber", "1")
_LABELLED = (
    *_CONTENT,
    _NUMBER,
    _k("ContentLabel", "2"),
    _k("ContentDescription", "2"),
    _k("ContentCreatorName", "2"),
)

RECORD_KEYS: dict[str, tuple[Key, ...]] = {
    "PATIENT": (_k("PatientName", "2"), _k("PatientID", "1")),
    "STUDY": (
        _k("StudyDate", "1", "SeriesDate", "AcquisitionDate", "ContentDate"),
        _k("StudyTime", "1", "SeriesTime", "AcquisitionTime", "ContentTime"),
        _k("AccessionNumber", "2"),
        _k("StudyDescription", "2"),
        _k("StudyInstanceUID", "required"),
        _k("StudyID", "1"),
    ),
    "SERIES": (
        _k("Modality", "required"),
        _k("SeriesInstanceUID", "required"),
        _k("SeriesNumber", "1"),
    ),
    "IMAGE": (_k("ImageType"), _NUMBER),
    "SR DOCUMENT": (
        *_CONTENT,
        _NUMBER,
        _k("VerificationDateTime"),
        _k("ConceptNameCodeSequence", "2"),
        _k("CompletionFlag", "2"),
        _k("VerificationFlag", "2"),
    ),
    "KEY OBJECT DOC": (*_CONTENT, _NUMBER, _k("ConceptNameCodeSequence", "2")),
    "PRESENTATION": (
        _k("PresentationCreationDate", "2"),
        _k("PresentationCreationTime", "2"),
        _NUMBER,
        _k("ContentLabel", "2"),
        _k("ContentDescription", "2"),
        _k("ContentCreatorName", "2"),
        _k("ReferencedSeriesSequence"),
    ),
    "WAVEFORM": (*_CONTENT, _NUMBER),
    "RT DOSE": (_NUMBER, _k("DoseSummationType", "2"), _k("DoseComment")),
    "RT STRUCTURE SET": (
        _NUMBER,
        _k("StructureSetLabel", "2"),
        _k("StructureSetDate", "2"),
        _k("StructureSetTime", "2"),
    ),
    "RT PLAN": (_NUMBER, _k("RTPlanLabel", "2"), _k("RTPlanDate", "2"), _k("RTPlanTime", "2")),
    "RT TREAT RECORD": (_NUMBER, _k("TreatmentDate", "2"), _k("TreatmentTime", "2")),
    "ENCAP DOC": (
        _k("ContentDate", "2"),
        _k("ContentTime", "2"),
        _NUMBER,
        _k("DocumentTitle", "2"),
        _k("ConceptNameCodeSequence", "2"),
        _k("MIMETypeOfEncapsulatedDocument", "2"),
    ),
    "REGISTRATION": _LABELLED,
    "FIDUCIAL": _LABELLED,
    "VALUE MAP": _LABELLED,
    "SURFACE": _LABELLED,
    "RAW DATA": (*_CONTENT, _NUMBER),
    "SPECTROSCOPY": (
        _k("ImageType"),
        *_CONTENT,
        _NUMBER,
        _k("NumberOfFrames"),
        _k("Rows"),
        _k("Columns"),
        _k("DataPointRows"),
        _k("DataPointColumns"),
    ),
}

# PS3.3 F.5: the record type of SOP Classes (and families of them, by UID prefix) that are
# not IMAGE. Anything else whose PS3.6 name says it stores an image is an IMAGE.
_BY_UID = {
    _STORAGE + "88.59": "KEY OBJECT DOC",
    _STORAGE + "481.1": "IMAGE",  # RT Image
    _STORAGE + "481.2": "RT DOSE",
    _STORAGE + "481.3": "RT STRUCTURE SET",
    _STORAGE + "481.4": "RT TREAT RECORD",  # RT Beams Treatment Record
    _STORAGE + "481.5": "RT PLAN",
    _STORAGE + "481.6": "RT TREAT RECORD",  # RT Brachy Treatment Record
    _STORAGE + "481.7": "RT TREAT RECORD",  # RT Treatment Summary Record
    _STORAGE + "481.8": "RT PLAN",  # RT Ion Plan
    _STORAGE + "481.9": "RT TREAT RECORD",  # RT Ion Beams Treatment Record
    _STORAGE + "66": "RAW DATA",
    _STORAGE + "66.1": "REGISTRATION",
    _STORAGE + "66.2": "FIDUCIAL",
    _STORAGE + "66.3": "REGISTRATION",  # Deformable Spatial Registration
    _STORAGE + "66.4": "IMAGE",  # Segmentation
    _STORAGE + "66.5": "SURFACE",
    _STORAGE + "67": "VALUE MAP",
    _STORAGE + "4.2": "SPECTROSCOPY",
}
_BY_PREFIX = (
    (_STORAGE + "88.", "SR DOCUMENT"),
    (_STORAGE + "11.", "PRESENTATION"),
    (_STORAGE + "9.", "WAVEFORM"),
    (_STORAGE + "104.", "ENCAP DOC"),
)


def record_type_for(sop_class_uid: str, name: str) -> str | None:
    """The Directory Record Type of an instance of ``sop_class_uid`` (PS3.6 name ``name``).

    None for a SOP Class with no record type of its own in the patient
    hierarchy (a Hanging Protocol, a Color Palette...): such a file is not
    added, as dcmmkdir does not add it.
    """
    known = _BY_UID.get(sop_class_uid)
    if known is not None:
        return known
    for prefix, record_type in _BY_PREFIX:
        if sop_class_uid.startswith(prefix):
            return record_type
    if sop_class_uid.startswith(_STORAGE) and "Image Storage" in name:
        return "IMAGE"
    return None
