"""A manager's problems: what failed, kept for listing, and each warned about once.

Three kinds, each a :class:`~dicomframe.errors.PluginError` naming the plugin
and its distribution with the original exception as ``__cause__``: plugins
that failed to load, what collecting their codecs refused (bad return values,
names already taken), and codecs whose installed backend cannot be used
(:mod:`.backends`, checked once per codec and remembered).

A problem is warned about (:class:`~dicomframe.errors.PluginWarning`) once, at
the first use of the registry after it is found; listing never warns, since
whoever lists problems is told already. Until something new is found,
:meth:`Problems.warn` costs one attribute read, as it runs on every dispatch.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

from dicomframe.plugins import backends, loading

if TYPE_CHECKING:
    from dicomframe.errors import PluginError
    from dicomframe.plugins.codec import Codec
    from dicomframe.plugins.loading import Collected, Origin

__all__ = ["Problems"]


class Problems:
    """The problems of one manager, and which have been warned about."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._load: list[PluginError] = []
        self._checked: dict[str, backends.Problem | None] = {}  # by codec name
        self._backends: dict[str, PluginError] = {}
        self._warned: set[str] = set()
        self._new = False  # something found since the last warn()

    def loaded(self, error: PluginError | None = None) -> None:
        """Record a plugin that failed to load (or, with None, that codecs were collected anew)."""
        with self._lock:
            if error is not None:
                self._load.append(error)
            self._new = True

    def listed(self, collected: Collected) -> list[PluginError]:
        """Every problem: loading, collecting, backends."""
        with self._lock:
            return [*self._load, *collected.problems, *self._backends.values()]

    def backend(self, codec: Codec, origin: Callable[[], Origin]) -> backends.Problem | None:
        """Why ``codec``'s installed backend cannot be used, or None: checked once, then known.

        ``origin`` gives the codec's plugin, for the problem's words.
        """
        with self._lock:
            if codec.name in self._checked:
                return self._checked[codec.name]
        found = backends.problem(codec)  # imports the backend: not under the lock
        with self._lock:
            if codec.name not in self._checked:
                self._checked[codec.name] = found
                if found is not None:
                    message = f"codec {codec.name!r} cannot be used: {found[0]}"
                    self._backends[codec.name] = loading.problem(message, origin(), found[1])
                    self._new = True
            return self._checked[codec.name]

    def known_backend(self, name: str) -> backends.Problem | None:
        """What checking the backend of codec ``name`` found, or None (also when not checked)."""
        with self._lock:
            return self._checked.get(name)

    def warn(self, collected: Collected | None) -> None:
        """Warn once about each problem not warned about yet."""
        if not self._new or collected is None:
            return
        with self._lock:
            self._new = False
        pending = [p for p in self.listed(collected) if str(p) not in self._warned]
        with self._lock:
            pending = [p for p in pending if str(p) not in self._warned]  # another thread's
            self._warned.update(str(p) for p in pending)
        for problem in pending:
            warnings.warn(loading.warning(problem), stacklevel=5)
