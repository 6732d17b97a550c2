"""DICOMDIR support: read a File-set's directory (``read_dicomdir``) and write one for a tree.

``read_dicomdir(path)`` follows the record offsets into a :class:`FileSet`
of :class:`Record` objects; ``write_dicomdir(folder)`` (the ``dicomframe
dicomdir`` command) makes the DICOMDIR of a folder of DICOM files, with the
records and keys DCMTK's ``dcmmkdir`` writes. See ``docs/dicomdir.md``.
"""

from __future__ import annotations

from dicomframe.dicomdir.fileset import FileSet, Record, read_dicomdir

__all__ = ["FileSet", "Record", "read_dicomdir"]
