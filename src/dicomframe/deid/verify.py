"""Checking a de-identified dataset against its original and Table E.1-1.

:func:`verify_deidentified` walks the original and the result side by side
and lists every breach, in words, with the element's path:

- a private element in the result that Retain Safe Private does not keep;
- an attribute the table removes (X) still present, one it empties (Z) not
  empty, one it replaces (D) absent, empty or unchanged, a UID it replaces (U)
  unchanged or not a ``2.25.`` UID (and, given the salt, not the one derived
  from it);
- UID references broken: one original UID replaced by two different UIDs, two
  originals by one, or an original UID the table replaces still found anywhere
  in the result (file meta included), unless the profile keeps that value in
  another attribute (Implementation Class UID equal to Instance Creator UID)
  or it is a UID the standard registers;
- Patient Identity Removed not YES, or a De-identification Method Code
  Sequence that does not list 113100 and the codes of the options.

An empty list means the result passed. ``dicomframe deidentify``
(:mod:`dicomframe.deid.files`) reads each written file back and runs this on it
before the file is renamed into place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from dicomframe.core.dataset import Dataset
from dicomframe.core.element import DataElement
from dicomframe.core.tag import Tag
from dicomframe.core.uids import uid_info
from dicomframe.core.vr import VR
from dicomframe.core.walk import Path, Step
from dicomframe.deid.actions import DUMMY, removed_overlay_groups
from dicomframe.deid.engine import action_of
from dicomframe.deid.iod import Requirements, requirements_of
from dicomframe.deid.options import Option, parse_options
from dicomframe.deid.private import PrivateRule, SafeKey
from dicomframe.deid.report import path_text
from dicomframe.deid.stamp import codes_for
from dicomframe.deid.uids import new_uid

__all__ = ["verify_deidentified"]

# Set by the stamp at the top level: not judged by their rows.
_STAMPED = frozenset({0x00120062, 0x00120063, 0x00120064, 0x00280303})


@dataclass
class _Check:
    options: frozenset[Option]
    salt: bytes | None
    private: PrivateRule
    problems: list[str] = field(default_factory=list)
    uids: dict[str, str] = field(default_factory=dict)
    back: dict[str, str] = field(default_factory=dict)
    kept: set[str] = field(default_factory=set)  # UIDs the profile keeps somewhere
    skip: frozenset[int] = frozenset()  # top-level tags judged otherwise
    iod: Requirements | None = None  # the top level's attribute types, where known

    def fail(self, path: Path, tag: Tag, text: str) -> None:
        self.problems.append(f"{path_text(path, tag)}: {text}")


def verify_deidentified(
    original: Dataset,
    result: Dataset,
    *,
    options: Iterable[str | Option] = (),
    salt: bytes | str | None = None,
    safe_private: Iterable[SafeKey] = (),
    masked: bool = False,
) -> list[str]:
    """Every way ``result`` falls short of de-identifying ``original``; empty when none.

    Parameters
    ----------
    original, result
        The dataset before and after de-identification.
    options, safe_private
        As given to :func:`~dicomframe.deid.deidentify`.
    salt
        The salt used; given, each replaced UID must be the one it derives.
    masked
        Masks were given: 113101 Clean Pixel Data must follow the option codes.
    """
    chosen = parse_options(options)
    key = salt.encode("utf-8") if isinstance(salt, str) else salt
    check = _Check(
        chosen,
        key,
        PrivateRule(Option.RETAIN_SAFE_PRIVATE in chosen, frozenset(safe_private)),
        iod=requirements_of(original.get(0x00080016)),
    )
    _compare(original, result, check, (), dummy=False)
    if original.meta is not None and result.meta is not None:
        # The writer sets Media Storage SOP Instance UID to the SOP Instance UID, which
        # also mends a source whose two disagreed: that is the value to find there.
        media = str(result.meta.get(0x00020003) or "")
        if media and media == str(result.get(0x00080018) or "") != original.get(0x00080018):
            check.skip = frozenset({0x00020003})
        _compare(original.meta, result.meta, check, (), dummy=False)
    _check_leaks(result, check)
    _check_stamp(result, chosen, check, masked=masked)
    return check.problems


def _compare(src: Dataset, out: Dataset, check: _Check, path: Path, *, dummy: bool) -> None:
    kept_private = check.private.kept_tags(src)
    overlays = removed_overlay_groups(src.tags(), check.options)
    for element in src:
        tag = element.tag
        if not path and (tag in _STAMPED or tag in check.skip):
            continue
        try:
            new: DataElement | None = out[tag]
        except KeyError:
            new = None
        if tag.group & 1:  # private, or the odd groups PS3.5 7.1 forbids
            if new is not None and tag not in kept_private:
                check.fail(path, tag, "private element kept")
            continue
        iod = None if path else check.iod
        action = (
            "X"
            if tag.group in overlays
            else action_of(element, check.options, dummy=dummy, iod=iod)
        )
        if action == "K" and element.vr is VR.UI:
            check.kept.update(_texts(element.value))
        _judge(element, new, action, check, path, dummy=dummy)


def _judge(
    element: DataElement,
    new: DataElement | None,
    action: str,
    check: _Check,
    path: Path,
    *,
    dummy: bool,
) -> None:
    tag = element.tag
    if action == "X":
        if new is not None:
            check.fail(path, tag, "should be removed (X)")
        return
    if new is None:
        check.fail(path, tag, f"removed, but the action is {action}")
        return
    if action == "Z":
        if not _is_empty(new):
            check.fail(path, tag, "should be empty (Z)")
    elif element.vr is VR.UI and action in ("U", "D"):
        _judge_uids(element, new, check, path)
    elif element.vr is VR.SQ:
        _judge_items(element, new, check, path, dummy=dummy or action == "D")
    elif action == "D" and (_is_empty(new) or _differs_not(element, new)):
        check.fail(path, tag, "should hold a dummy value (D)")


def _judge_items(
    element: DataElement, new: DataElement, check: _Check, path: Path, *, dummy: bool
) -> None:
    before, after = element.sequence, new.sequence
    if len(before) != len(after):
        check.fail(path, element.tag, f"{len(before)} items became {len(after)}")
        return
    for index, (src, out) in enumerate(zip(before, after, strict=True)):
        _compare(src, out, check, (*path, Step(element.tag, index)), dummy=dummy)


def _judge_uids(element: DataElement, new: DataElement, check: _Check, path: Path) -> None:
    olds, news = _texts(element.value), _texts(new.value)
    if len(olds) != len(news):
        check.fail(path, element.tag, f"{len(olds)} UIDs became {len(news)}")
        return
    for old, uid in zip(olds, news, strict=True):
        if not uid.startswith("2.25.") or uid == old:
            check.fail(path, element.tag, "UID not replaced (U)")
        elif check.salt is not None and uid != new_uid(old, check.salt):
            check.fail(path, element.tag, "UID is not the one derived from the salt")
        if check.uids.setdefault(old, uid) != uid:
            check.fail(path, element.tag, "one original UID replaced by two different UIDs")
        if check.back.setdefault(uid, old) != old:
            check.fail(path, element.tag, "two original UIDs replaced by the same UID")


def _check_leaks(result: Dataset, check: _Check) -> None:
    # A UID kept by the profile somewhere (a class UID, a value an unlisted attribute
    # shares) is no leak; nor is a UID the standard registers (PS3.6 Annex A).
    replaced = {u for u in check.uids if u not in check.kept and uid_info(u) is None}
    datasets = [result] + ([result.meta] if result.meta is not None else [])
    for ds in datasets:
        for path, element in ds.walk():
            if element.vr is VR.UI and replaced & set(_texts(element.value)):
                check.fail(path, element.tag, "holds an original UID that was replaced elsewhere")


def _check_stamp(
    result: Dataset, options: frozenset[Option], check: _Check, *, masked: bool
) -> None:
    if str(result.get(0x00120062) or "").strip() != "YES":
        check.problems.append("Patient Identity Removed (0012,0062) is not YES")
    items = result.get(0x00120064) or []
    found = [str(item.get(0x00080100) or "").strip() for item in items]
    wanted = [c.value for c in codes_for(options, clean_pixels=masked)]
    if found != wanted:
        check.problems.append(
            f"De-identification Method Code Sequence lists {found}, expected {wanted}"
        )


def _texts(value: object) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [str(v).strip(" \0") for v in values if v is not None and str(v).strip(" \0")]


def _is_empty(element: DataElement) -> bool:
    if element.vr is VR.SQ:
        return len(element.sequence) == 0
    return element.value in (None, "", b"", [])


def _differs_not(before: DataElement, after: DataElement) -> bool:
    """True when a D value is still the original (and the original was no dummy)."""
    return bool(after.value == before.value and before.value != DUMMY.get(before.vr))
