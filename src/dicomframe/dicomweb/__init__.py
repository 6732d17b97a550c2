"""DICOMweb as a source and a destination: WADO-RS reading, STOW-RS storing (PS3.18).

- :func:`read_dicomweb` builds a dataset from an instance's WADO-RS metadata
  and fetches each frame the first time it is used, as the server stores it
  (never transcoded), so compressed frames are decoded here by the codec
  registry;
- :func:`store_dicomweb` sends datasets as Part 10 files with STOW-RS.

A workflow: it uses the core (datasets, the JSON model, the writer, frames
served on demand through :func:`~dicomframe.core.pixel_data.provide_frames`)
and ``requests``, imported the first time a request is made, never by
``import dicomframe``. docs/dicomweb.md is the user's page.
"""

from __future__ import annotations

from dicomframe.dicomweb.reading import FRAME_ACCEPT, FrameFetcher, read_dicomweb
from dicomframe.dicomweb.storing import store_dicomweb

__all__ = ["FRAME_ACCEPT", "FrameFetcher", "read_dicomweb", "store_dicomweb"]
