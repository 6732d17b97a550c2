"""Regular expressions compiled on first use.

Compiling a pattern costs 0.1-1 ms; the core holds about twenty of them, for
writing checks and rarely parsed value types. Compiled at import they would cost
every one-shot task (open a file, read three attributes) several milliseconds
before it had matched anything, so each module holds a :class:`LazyPattern` and
pays only for the patterns it uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import AnyStr, Generic

__all__ = ["LazyPattern"]


class LazyPattern(Generic[AnyStr]):
    """A pattern and its flags, compiled by the first match."""

    __slots__ = ("_compiled", "_flags", "_pattern")

    def __init__(self, pattern: AnyStr, flags: int = 0) -> None:
        self._pattern: AnyStr = pattern
        self._flags = flags
        self._compiled: re.Pattern[AnyStr] | None = None

    @property
    def compiled(self) -> re.Pattern[AnyStr]:
        """The compiled pattern (compiled now if this is the first use)."""
        if self._compiled is None:
            self._compiled = re.compile(self._pattern, self._flags)
        return self._compiled

    def fullmatch(self, text: AnyStr) -> re.Match[AnyStr] | None:
        """As :meth:`re.Pattern.fullmatch`."""
        return self.compiled.fullmatch(text)

    def match(self, text: AnyStr) -> re.Match[AnyStr] | None:
        """As :meth:`re.Pattern.match`."""
        return self.compiled.match(text)

    def finditer(self, text: AnyStr) -> Iterator[re.Match[AnyStr]]:
        """As :meth:`re.Pattern.finditer`."""
        return self.compiled.finditer(text)

    def __repr__(self) -> str:
        return f"LazyPattern({self._pattern!r})"
