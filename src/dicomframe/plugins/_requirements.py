"""Whether an installed distribution meets a requirement string, without importing it.

:meth:`dicomframe.plugins.Codec.too_old` reads a codec's ``requires``
(``"pylibjpeg-openjpeg>=2.3"``) and asks :mod:`importlib.metadata` which
version is installed (through :mod:`.entry_cache`, which remembers the answer
across processes): the backend itself is not imported, so a broken or slow
backend costs nothing here. dicomframe depends on no version library,
so this reads the part of PEP 440 and PEP 508 that requirement hints use: a
name, optional extras, comma-separated clauses of ``>=``, ``>``, ``<=``,
``<``, ``==``, ``!=`` or ``~=`` and a release number, optional markers after
``;`` (ignored). Versions compare by their release numbers (``2024.1.1``,
``2.3``); a pre-release or local suffix is dropped, and a clause or version
that cannot be read is not held against the distribution.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

from dicomframe.plugins import entry_cache

__all__ = ["unmet"]

_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;]*)")
_CLAUSE = re.compile(r"\s*(~=|==|!=|<=|>=|<|>)\s*v?([0-9][0-9.]*)")
_RELEASE = re.compile(r"v?([0-9]+(?:\.[0-9]+)*)")
_COMPARE: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}


def _release(text: str) -> tuple[int, ...] | None:
    match = _RELEASE.match(text.strip())
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def _padded(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    width = max(len(a), len(b))
    return a + (0,) * (width - len(a)), b + (0,) * (width - len(b))


def _meets(installed: tuple[int, ...], op: str, wanted: tuple[int, ...]) -> bool:
    if op == "~=":  # PEP 440 compatible release: >= wanted, same release but the last part
        prefix = wanted[:-1] if len(wanted) > 1 else wanted
        return _meets(installed, ">=", wanted) and installed[: len(prefix)] == prefix
    return _COMPARE[op](*_padded(installed, wanted))


def unmet(requirement: str) -> str | None:
    """Why the installed distribution does not meet ``requirement``, or None.

    None also when the distribution is not installed (the codec's missing
    modules say so), or the requirement names no distribution (``"zlib"``).

    >>> unmet("numpy>=1")
    >>> unmet("numpy<1")  # doctest: +ELLIPSIS
    'numpy ... is installed; the codec needs numpy<1'
    """
    match = _REQUIREMENT.match(requirement)
    if match is None:
        return None
    name, clauses = match.group(1), match.group(3)
    version = entry_cache.version(name)
    if version is None:
        return None
    installed = _release(version)
    if installed is None:
        return None
    for clause in clauses.split(","):
        parsed = _CLAUSE.fullmatch(clause.strip()) if clause.strip() else None
        wanted = _release(parsed.group(2)) if parsed else None
        if parsed and wanted and not _meets(installed, parsed.group(1), wanted):
            return f"{name} {version} is installed; the codec needs {requirement.strip()}"
    return None
