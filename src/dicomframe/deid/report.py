"""What a de-identification did: one record per action, and the result that carries them.

A record names the element by its path (sequence tags and item indexes from
the top, e.g. ``(0008,1140)[0]/(0008,1155)``, as :func:`~dicomframe.core.walk.format_path`
writes it), the action taken and, instead of
the old value, its HMAC-SHA256 under the salt (16 hex digits): two reports
made with one salt show whether two files held the same value, and without
the salt the value cannot be recovered or confirmed by hashing guesses.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from dataclasses import dataclass, field

from dicomframe.core.dataset import Dataset
from dicomframe.core.dictionary import keyword_for
from dicomframe.core.element import DataElement
from dicomframe.core.tag import Tag
from dicomframe.core.vr import VR
from dicomframe.core.walk import Path, format_path
from dicomframe.deid.options import Option

__all__ = ["ActionRecord", "Deidentified", "ValueHasher", "path_text"]


def path_text(path: Path, tag: Tag) -> str:
    """``(0008,1140)[0]/(0008,1155)``: where an element lies."""
    return format_path(path, tag)


class ValueHasher:
    """Keyed hashes of old values: HMAC-SHA256 under the salt, 16 hex digits.

    The keyed state is made once and copied per value: a file has hundreds of
    private elements to report.
    """

    def __init__(self, salt: bytes) -> None:
        self._base = hmac.new(salt, b"report\0", hashlib.sha256)

    def __call__(self, element: DataElement) -> str:
        """The old value's hash; empty for a sequence (its items have their own records)."""
        if element.vr is VR.SQ:
            return ""
        raw = element.raw
        data = bytes(raw) if raw is not None else repr(element.value).encode("utf-8", "replace")
        keyed = self._base.copy()
        keyed.update(data)
        return keyed.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One action on one element: where (``steps`` and ``tag``), which, and the old value's hash."""

    steps: Path
    tag: Tag
    action: str  # X, Z, D, U, C, M (masked pixels); K is not recorded
    old_hash: str
    note: str = ""

    @property
    def path(self) -> str:
        """``(0008,1140)[0]/(0008,1155)``."""
        return format_path(self.steps, self.tag)

    @property
    def keyword(self) -> str:
        """The PS3.6 keyword; empty for private elements."""
        return "" if self.tag.group & 1 else keyword_for(self.tag)


@dataclass
class Deidentified:
    """The result of :func:`~dicomframe.deid.deidentify_with_report`.

    Attributes
    ----------
    dataset
        The de-identified dataset (the input is left as it was).
    actions
        Every action taken, in the order taken.
    options
        The options in force.
    burned_in_annotation
        The input's Burned In Annotation (0028,0301) (``"YES"``, ``"NO"``) or
        None when absent: pixel data is not de-identified here, so a caller
        refuses or reports ``"YES"`` (and absent, for modalities that burn text in).
    salt_was_random
        No salt was given: UIDs and shifted dates are consistent within this
        call only.
    day_offset
        Days every date moved by under Retain Longitudinal Temporal Information
        with Modified Dates, else None.
    """

    dataset: Dataset
    actions: list[ActionRecord] = field(default_factory=list)
    options: frozenset[Option] = frozenset()
    burned_in_annotation: str | None = None
    salt_was_random: bool = False
    day_offset: int | None = None

    def csv(self) -> str:
        """The actions as CSV text: path, tag, keyword, action, old value hash, note."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["path", "tag", "keyword", "action", "old_value_hash", "note"])
        for r in self.actions:
            writer.writerow([r.path, str(r.tag), r.keyword, r.action, r.old_hash, r.note])
        return out.getvalue()
