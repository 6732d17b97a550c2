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
import io
from dataclasses import dataclass, field

from dicomframe.core.dataset import Dataset
from dicomframe.core.element import DataElement
from dicomframe.core.tag import Tag
from dicomframe.core.vr import VR
from dicomframe.core.walk import Path, format_path
from dicomframe.deid.options import Option
from dicomframe.deid.uids import keyed_digest

__all__ = ["ActionRecord", "Deidentified", "hash_value", "path_text"]


def path_text(path: Path, tag: Tag) -> str:
    """``(0008,1140)[0]/(0008,1155)``: where an element lies."""
    return format_path(path, tag)


def hash_value(element: DataElement, salt: bytes) -> str:
    """The old value's keyed hash; empty for a sequence (its items have their own records)."""
    if element.vr is VR.SQ:
        return ""
    raw = element.raw
    data = bytes(raw) if raw is not None else repr(element.value).encode("utf-8", "replace")
    return keyed_digest(salt, b"report", data).hex()[:16]


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One action on one element."""

    path: str
    tag: Tag
    keyword: str
    action: str  # X, Z, D, U, C (K is not recorded: nothing happened)
    old_hash: str
    note: str = ""


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
