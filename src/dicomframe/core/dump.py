"""Render a dataset as text, one element per line, like DCMTK's ``dcmdump``.

Used by ``repr(ds)`` and ``dicomframe dump``. Nested items are indented;
long values are cut so a dump of a file with large values stays readable,
and located values that were never loaded are described, not read.

Private data elements are named as DCMTK names them, from the private
dictionary under the creator that reserved their block in the same dataset
(``(0019,1004) DS CellSpacing [1.016600]`` under ``GEMS_ACQU_01``); one the
dictionary does not know shows ``(private or unknown)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from dicomframe.core.dictionary import private_lookup
from dicomframe.core.element import DataElement
from dicomframe.core.limits import allow_recursion, default_limits
from dicomframe.core.private import creator_tag
from dicomframe.core.vr import BYTES_VRS, STRING_VRS, VR

__all__ = ["dump_lines", "format_value"]

MAX_VALUE_CHARS = 64


def format_value(element: DataElement, width: int = MAX_VALUE_CHARS) -> str:
    """A short text form of an element's value."""
    if element.vr in BYTES_VRS or element.undefined_length:
        return _bytes_summary(element)
    value: Any = element.value
    if value is None:
        text = ""
    elif isinstance(value, list):
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value)
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    if element.vr in STRING_VRS:
        text = f"[{text}]"
    if len(text) > width:
        text = text[: width - 3] + "..."
    return text


def _bytes_summary(element: DataElement) -> str:
    if not element.is_loaded:
        return f"({element.length} bytes, not loaded)"
    raw: Any = element.raw
    if raw is None:  # an assigned value (bytes, or a numpy array): summarise that
        value = element.value
        try:
            raw = b"" if value is None else memoryview(value).cast("B")
        except TypeError:  # a strided array, or not bytes at all
            tobytes = getattr(value, "tobytes", None)
            if tobytes is None:
                return repr(value)[:MAX_VALUE_CHARS]
            raw = tobytes()
    length = len(raw)
    if element.undefined_length:
        return f"(encapsulated, {length} bytes of items)"
    text = bytes(raw[:16]).hex(" ")
    return f"{text}{' ...' if length > 16 else ''} ({length} bytes)"


def dump_lines(
    ds: Iterable[DataElement],
    *,
    indent: int = 0,
    width: int = MAX_VALUE_CHARS,
    max_depth: int = 0,
) -> Iterator[str]:
    """Yield one line per element; items and their elements are indented.

    Items nested deeper than ``max_depth`` (default: the default limits'
    ``max_depth``) are summed up in one line instead of shown, so a dataset
    built deeper than any file may be never fails to display.
    """
    depth = indent // 2
    limit = max_depth or default_limits().max_depth
    if depth == 0:
        allow_recursion(limit, frames_per_level=3)
    pad = "  " * indent
    elements = list(ds)
    creators = _creators(elements)
    for element in elements:
        keyword = _keyword(element, creators)
        head = f"{pad}{element.tag} {element.vr.value} {keyword or '(private or unknown)'}"
        if element.vr is VR.SQ:
            items = element.sequence
            yield f"{head} ({len(items)} item{'s' if len(items) != 1 else ''})"
            if items and depth >= limit:
                yield f"{pad}  (items nested deeper than max_depth={limit}: not shown)"
                continue
            for number, item in enumerate(items, 1):
                yield f"{pad}  item {number}"
                yield from dump_lines(item, indent=indent + 2, width=width, max_depth=limit)
            continue
        yield f"{head} {format_value(element, width)}".rstrip()  # an empty number: no value


def _creators(elements: list[DataElement]) -> dict[int, str]:
    """The Private Creator values of one dataset, by tag (PS3.5 7.8.1)."""
    found = {}
    for element in elements:
        if element.tag.is_private_creator and element.is_loaded:
            value = element.value
            if isinstance(value, str) and value.strip(" \0"):
                found[int(element.tag)] = value
    return found


def _keyword(element: DataElement, creators: dict[int, str]) -> str:
    """The keyword shown: PS3.6's, ``PrivateCreator``, a private name, or ``""``."""
    tag = element.tag
    if not tag.group & 1:
        return element.keyword
    if tag.is_private_creator:
        return "PrivateCreator"
    at = creator_tag(tag)
    creator = None if at is None else creators.get(at)
    if creator is None:
        return element.keyword  # group lengths and the odd groups PS3.5 forbids
    entry = private_lookup(creator, tag)
    return "" if entry is None else entry.keyword
