"""Bridges between dicomframe and other DICOM libraries.

Each bridge lives in its own module and imports its library only when that
module is imported: ``import dicomframe`` never imports pydicom, and
``import dicomframe.interop`` imports nothing either. Use
:mod:`dicomframe.interop.pydicom` (``pip install dicomframe[pydicom]``).
"""

from __future__ import annotations

__all__: list[str] = []
