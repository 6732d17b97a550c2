"""De-identification of one dataset by PS3.15 Annex E, Table E.1-1, at every depth.

The engine builds a new dataset while walking the input: every element is
looked up in the table (:mod:`~dicomframe.deid.table`), its action code turned
into one action for its VR (:mod:`~dicomframe.deid.actions`) and applied;
kept sequences have their items walked the same way, so an attribute deep in
a sequence gets the action it would get at the top. Private elements follow
:mod:`~dicomframe.deid.private`. The file meta information goes through the
same table (Media Storage SOP Instance UID is a U row), so it stays equal to
the new SOP Instance UID. The input is never modified; values that stay are
copied (large byte values share the input's source until loaded, as a
``copy.copy`` of an element does).

Inside a sequence the profile replaces with dummies (D on Content Sequence,
Graphic Annotation Sequence...), the rows of the table still apply, and the
elements the table does not list keep the structure (the Code Sequence
Macro, coded strings, numbers, UIDs the table keeps) while their free text,
dates and names become dummies (the VRs of
:data:`~dicomframe.deid.actions.DUMMY_IN_SEQUENCE`).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dicomframe.core.dataset import Dataset
from dicomframe.core.element import DataElement, Sequence
from dicomframe.core.tag import Tag
from dicomframe.core.vr import BYTES_VRS, VR
from dicomframe.core.walk import Path, Step
from dicomframe.deid.actions import (
    CODE_ATTRIBUTES,
    DUMMY_IN_SEQUENCE,
    dummy_element,
    empty_element,
    removed_overlay_groups,
    resolve,
)
from dicomframe.deid.clean import IDENTIFYING_VRS, Scrubber, words_of
from dicomframe.deid.dates import day_offset, shift_value
from dicomframe.deid.iod import Required, Requirements, requirements_of
from dicomframe.deid.masks import Rect
from dicomframe.deid.options import Option, parse_options
from dicomframe.deid.pixels import apply_masks
from dicomframe.deid.private import PrivateRule, SafeKey
from dicomframe.deid.report import ActionRecord, Deidentified, ValueHasher
from dicomframe.deid.stamp import stamp
from dicomframe.deid.table import rule_for
from dicomframe.deid.uids import new_uid

__all__ = ["action_of", "deidentify", "deidentify_with_report"]

Cleaner = Callable[[str], str]

_TEXT_VRS = IDENTIFYING_VRS - {VR.DA, VR.DT} | {VR.UR}
_DATE_VRS = frozenset({VR.DA, VR.DT, VR.TM})
_PIXEL_DATA, _BURNED_IN = 0x7FE00010, 0x00280301


@dataclass
class _Context:
    """What every step of one call needs."""

    options: frozenset[Option]
    salt: bytes
    private: PrivateRule
    clean: Cleaner
    days: int | None
    iod: Requirements | None = None  # the top level's attribute types, where known
    records: list[ActionRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.hash = ValueHasher(self.salt)

    def record(self, path: Path, element: DataElement, action: str, note: str = "") -> None:
        self.records.append(ActionRecord(path, element.tag, action, self.hash(element), note))


def deidentify(  # noqa: PLR0913 - every option is keyword-only
    ds: Dataset,
    *,
    options: Iterable[str | Option] = (),
    salt: bytes | str | None = None,
    safe_private: Iterable[SafeKey] = (),
    cleaner: Cleaner | None = None,
    values: Mapping[int | str, Any] | None = None,
    mask: Iterable[Rect | tuple[int, int, int, int]] = (),
) -> Dataset:
    """A de-identified copy of ``ds``; see :func:`deidentify_with_report`."""
    return deidentify_with_report(
        ds,
        options=options,
        salt=salt,
        safe_private=safe_private,
        cleaner=cleaner,
        values=values,
        mask=mask,
    ).dataset


def deidentify_with_report(  # noqa: PLR0913 - every option is keyword-only
    ds: Dataset,
    *,
    options: Iterable[str | Option] = (),
    salt: bytes | str | None = None,
    safe_private: Iterable[SafeKey] = (),
    cleaner: Cleaner | None = None,
    values: Mapping[int | str, Any] | None = None,
    mask: Iterable[Rect | tuple[int, int, int, int]] = (),
) -> Deidentified:
    """De-identify ``ds`` by the Basic Application Level Confidentiality Profile.

    Parameters
    ----------
    ds
        The dataset; it is not modified.
    options
        Profile options by name (``"retain-uids"``...) or :class:`Option`.
    salt
        The secret that UIDs, shifted dates and report hashes derive from. Give
        the same salt to every file of a study or patient to keep their
        references consistent; keep it secret. None: a random salt for this
        call alone (nothing can be linked to another call).
    safe_private
        Private elements known safe, ``(group, creator, element low byte)``,
        kept under Retain Safe Private with those the dataset declares safe.
    cleaner
        Cleans one text value under action C (default: overwrite the
        identifiers the dataset holds, see :mod:`~dicomframe.deid.clean`).
    values
        Values to set last, by keyword or tag (e.g. ``{"PatientID": "SUBJ-01"}``,
        a pseudonym instead of a dummy).
    mask
        Rectangles ``(x, y, width, height)`` (or :class:`~dicomframe.deid.masks.Rect`)
        blacked out on every frame, in the pixels' own transfer syntax
        (:mod:`~dicomframe.deid.pixels`). When given, Burned In Annotation
        becomes ``NO`` and 113101 Clean Pixel Data is listed in the method codes.

    Returns
    -------
    Deidentified
        The new dataset, the actions taken (old values hashed, never kept),
        the input's Burned In Annotation and the date offset used.

    Raises
    ------
    ValueError
        An unknown option, options that exclude each other, an empty salt, or
        a mask outside the image (named).
    """
    rects = [Rect.of(r) for r in mask]
    chosen = parse_options(options)
    key, was_random = _salt_bytes(salt)
    days = None
    if Option.RETAIN_LONGITUDINAL_MODIFIED_DATES in chosen:
        days = day_offset(_patient_key(ds), key)
    ctx = _Context(
        chosen,
        key,
        PrivateRule(Option.RETAIN_SAFE_PRIVATE in chosen, frozenset(safe_private)),
        cleaner or Scrubber(_identifiers(ds, chosen)),
        days,
        requirements_of(ds.get(0x00080016)),
    )
    out = _walk(ds, ctx, (), dummy=False)
    if ds.meta is not None:
        out.meta = _walk(ds.meta, ctx, (), dummy=False)
    out.transfer_syntax = ds.transfer_syntax
    out.limits = ds.limits
    out.codecs = ds.codecs
    if rects:
        note = apply_masks(out, rects)  # the action M: masked, a note says how
        ctx.records.append(ActionRecord((), Tag(_PIXEL_DATA), "M", "", note))
        out.set(_BURNED_IN, "NO", VR.CS)
    stamp(out, chosen, clean_pixels=bool(rects))
    for name, value in (values or {}).items():
        out.set(name, value)
    burned = ds.get(_BURNED_IN)
    return Deidentified(
        out,
        ctx.records,
        chosen,
        None if burned is None else str(burned).strip().upper(),
        was_random,
        days,
    )


def _salt_bytes(salt: bytes | str | None) -> tuple[bytes, bool]:
    if salt is None:
        return os.urandom(32), True
    key = salt.encode("utf-8") if isinstance(salt, str) else bytes(salt)
    if not key:
        raise ValueError("the salt is empty: give a secret, or None for a random one")
    return key, False


def _patient_key(ds: Dataset) -> str:
    """Whose dates these are: Patient ID, else Patient's Name, else the study."""
    for tag in (0x00100020, 0x00100010, 0x0020000D):
        value = ds.get(tag)
        if value is not None and str(value).strip():
            return f"{tag:08X}={str(value).strip()}"
    return ""


def _identifiers(ds: Dataset, options: frozenset[Option]) -> list[str]:
    """The text values the profile removes or replaces, at any depth (for cleaning)."""
    found: list[str] = []
    for _, element in ds.walk():
        rule = rule_for(element.tag)
        if element.vr not in IDENTIFYING_VRS or rule is None:
            continue
        if resolve(rule.action(options), element.vr) in ("K", "C"):
            continue
        value = element.value
        for one in value if isinstance(value, list) else [value]:
            found += words_of(one, element.vr)
    return found


def _walk(src: Dataset, ctx: _Context, path: Path, *, dummy: bool) -> Dataset:
    """The de-identified copy of one dataset or item."""
    out = Dataset()
    out.undefined_length = src.undefined_length
    kept_private = ctx.private.kept_tags(src)
    overlays = removed_overlay_groups(src.tags(), ctx.options)
    for element in src:
        if element.tag.group & 1:  # private, or the odd groups PS3.5 7.1 forbids
            if element.tag in kept_private:
                out.add(_keep(element, ctx, path, dummy=False))
            else:
                ctx.record(path, element, "X", "private")
            continue
        if element.tag.group in overlays:
            ctx.record(path, element, "X", "overlay removed with its data")
            continue
        action = action_of(element, ctx.options, dummy=dummy, iod=None if path else ctx.iod)
        new = _apply(element, action, ctx, path, dummy=dummy)
        if new is not None:
            out.add(new)
    return out


def action_of(
    element: DataElement,
    options: frozenset[Option],
    *,
    dummy: bool,
    iod: Requirements | None = None,
) -> str:
    """The one action for a public element: its row's, else K (D inside a dummy sequence).

    ``iod`` gives the attribute types of the instance's IOD (top level only).
    """
    rule = rule_for(element.tag)
    if rule is not None:
        required = Required.UNKNOWN if iod is None else iod(element.tag)
        return resolve(rule.action(options), element.vr, required)
    if dummy and element.vr in DUMMY_IN_SEQUENCE and element.tag not in CODE_ATTRIBUTES:
        return "D"
    return "K"


def _apply(
    element: DataElement, action: str, ctx: _Context, path: Path, *, dummy: bool
) -> DataElement | None:
    """The element after ``action`` (None: removed); records what was done."""
    if action == "K" or (action == "U" and element.vr is VR.SQ):
        return _keep(element, ctx, path, dummy=dummy)
    if action == "C":
        return _clean(element, ctx, path)
    ctx.record(path, element, action)
    if action == "X":
        return None
    if action == "Z":
        return empty_element(element)
    return _replace(element, ctx, path)


def _replace(element: DataElement, ctx: _Context, path: Path) -> DataElement:
    """Action D (or U): a dummy value; a UID replaced consistently; a sequence's text."""
    if element.vr is VR.UI:
        return _with_value(element, _new_uids(element.value, ctx.salt))
    if element.vr is VR.SQ:
        return _sequence(element, ctx, path, dummy=True)
    return dummy_element(element)


def _keep(element: DataElement, ctx: _Context, path: Path, *, dummy: bool) -> DataElement:
    if element.vr is VR.SQ:
        return _sequence(element, ctx, path, dummy=dummy)
    # Large byte values keep pointing at the input's source; others are copied whole.
    return copy.copy(element) if element.vr in BYTES_VRS else copy.deepcopy(element)


def _sequence(element: DataElement, ctx: _Context, path: Path, *, dummy: bool) -> DataElement:
    items = element.sequence
    walked = [
        _walk(item, ctx, (*path, Step(element.tag, index)), dummy=dummy)
        for index, item in enumerate(items)
    ]
    return DataElement(
        element.tag,
        VR.SQ,
        Sequence(walked, undefined_length=items.undefined_length),
        undefined_length=element.undefined_length,
    )


def _clean(element: DataElement, ctx: _Context, path: Path) -> DataElement:
    """Action C: a value of similar meaning without the identifying part."""
    if element.vr is VR.SQ:
        ctx.record(path, element, "C", "items de-identified")
        return _sequence(element, ctx, path, dummy=False)
    if element.vr in _DATE_VRS and ctx.days is not None:
        return _shift(element, ctx, path, ctx.days)
    if element.vr in _TEXT_VRS:
        value = element.value
        cleaned: Any = (
            [ctx.clean(str(v)) for v in value] if isinstance(value, list) else ctx.clean(str(value))
        )
        ctx.record(path, element, "C", "identifiers overwritten")
        # An unchanged value keeps its bytes: re-encoding would refuse a value the
        # sender wrote against its VR's rules, which is no reason to fail here.
        return (
            _keep(element, ctx, path, dummy=False)
            if cleaned == value
            else _with_value(element, cleaned)
        )
    ctx.record(path, element, "C", "kept: no automatic cleaning for this VR")
    return _keep(element, ctx, path, dummy=False)


def _shift(element: DataElement, ctx: _Context, path: Path, days: int) -> DataElement:
    """Action C on a date under Modified Dates: moved by the patient's offset."""
    if element.vr is VR.TM:  # whole days leave a time of day as it was
        ctx.record(path, element, "C", "time of day kept")
        return _keep(element, ctx, path, dummy=False)
    try:
        shifted = shift_value(element.value, element.vr, days)
    except ValueError:
        ctx.record(path, element, "D", "not a full date: dummy")
        return dummy_element(element)
    ctx.record(path, element, "C", f"shifted {days} days")
    return _with_value(element, shifted)


def _with_value(element: DataElement, value: Any) -> DataElement:
    """A new element like ``element`` with another value, in its character set."""
    return DataElement(element.tag, element.vr, value, charsets=element.charsets)


def _new_uids(value: Any, salt: bytes) -> Any:
    if isinstance(value, list):
        return [new_uid(str(v), salt) for v in value if str(v)]
    text = "" if value is None else str(value)
    return new_uid(text, salt) if text.strip(" \0") else text
