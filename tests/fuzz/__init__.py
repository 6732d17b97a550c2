"""Structure-aware fuzzing of dicomframe: a byte-level layout walker, mutators and the harness.

``layout`` maps a DICOM file's bytes to its elements, items and fragments;
``mutators`` change one of them (a length, a VR, a value, a codestream
header) and keep the rest of the file consistent; ``harness`` runs every
public operation on the result and reports any exception that is not a
:class:`dicomframe.DicomError`. ``tools/fuzz.py`` drives the same pieces for
long runs; the tests here run a bounded number of cases and the stored
crashers in ``tests/data/crashers/``.
"""
