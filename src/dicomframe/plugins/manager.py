"""CodecManager: owns the pluggy manager, loads plugins on first use, dispatches.

Nothing is loaded when dicomframe is imported. The first ``decode``,
``encode`` or ``codecs()`` call loads every entry point of the
``dicomframe.codecs`` group (the built-ins included) and reads the
environment:

- ``DICOMFRAME_BLOCK=pillow,gdcm``: codec or plugin names never used;
- ``DICOMFRAME_PLUGINS=rle,pylibjpeg``: load only these entry points.

A plugin that fails to import, or whose hook returns something that is not a
list of :class:`Codec`, is reported by name in :meth:`CodecManager.problems`
and in ``dicomframe codecs``; it does not stop the others. The default
manager is made on first use by :func:`default_manager`; tests and
applications can make their own.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pluggy

from dicomframe.errors import CodecFallbackWarning, DecodeError, EncodeError, PluginError
from dicomframe.plugins import dispatch, hookspecs
from dicomframe.plugins.codec import Codec

if TYPE_CHECKING:
    from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
    from dicomframe.core.transfer_syntax import TransferSyntax

__all__ = ["CodecManager", "CodecStatus", "default_manager"]


@dataclass(frozen=True, slots=True)
class CodecStatus:
    """One row of ``dicomframe codecs``: a codec and whether it can be used."""

    codec: Codec
    plugin: str
    version: str
    available: bool
    reason: str

    @property
    def name(self) -> str:
        """The codec's name."""
        return self.codec.name


class CodecManager:
    """The codec registry: plugins, preferences, blocks and dispatch.

    Parameters
    ----------
    entry_points
        Load the ``dicomframe.codecs`` entry points (and read the environment)
        on first use. ``False`` gives an empty manager for explicit
        :meth:`register` calls, as tests want.
    """

    def __init__(self, *, entry_points: bool = True) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._entry_points = entry_points
        self._lock = threading.RLock()
        self._loaded = False
        self._snapshot: tuple[tuple[Codec, str], ...] | None = None
        self._blocked: set[str] = set()
        self._preferred: list[str] = []
        self._problems: list[PluginError] = []
        self._versions: dict[str, str] = {}

    # -- configuration --------------------------------------------------------
    def register(self, plugin: object, name: str | None = None) -> None:
        """Register a plugin object or module providing ``dicomframe_codecs``."""
        with self._lock:
            try:
                self._pm.register(plugin, name=name)
                self._pm.check_pending()
            except (ValueError, pluggy.PluginValidationError) as exc:
                raise PluginError(
                    f"cannot register plugin {name or plugin!r}: {exc}", plugin=name
                ) from exc
            self._snapshot = None

    def block(self, *names: str) -> None:
        """Never use these codecs (or every codec of these plugins)."""
        with self._lock:
            self._blocked.update(names)

    def unblock(self, *names: str) -> None:
        """Undo :meth:`block`."""
        with self._lock:
            self._blocked.difference_update(names)

    def prefer(self, *names: str) -> None:
        """Try these codecs first, in this order, before the priority order."""
        with self._lock:
            self._preferred = [*names, *(n for n in self._preferred if n not in names)]

    @property
    def problems(self) -> list[PluginError]:
        """Plugins that failed to load or returned garbage."""
        self._codecs()
        return list(self._problems)

    # -- loading -----------------------------------------------------------------
    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if not self._entry_points:
            return
        blocked = os.environ.get("DICOMFRAME_BLOCK", "")
        self._blocked.update(n.strip() for n in blocked.split(",") if n.strip())
        wanted = {
            n.strip() for n in os.environ.get("DICOMFRAME_PLUGINS", "").split(",") if n.strip()
        }
        for entry in importlib.metadata.entry_points(group=hookspecs.PROJECT):
            if wanted and entry.name not in wanted:
                continue
            try:
                plugin = entry.load()
                self._pm.register(plugin, name=entry.name)
                self._pm.check_pending()
            except Exception as exc:
                self._problems.append(
                    PluginError(f"plugin {entry.name!r} failed to load: {exc}", plugin=entry.name)
                )
                continue
            if entry.dist is not None:
                self._versions[entry.name] = entry.dist.version

    def _codecs(self) -> tuple[tuple[Codec, str], ...]:
        with self._lock:
            if self._snapshot is None:
                self._load()
                self._snapshot = self._collect()
            return self._snapshot

    def _register_syntaxes(self) -> None:
        for impl in self._pm.hook.dicomframe_transfer_syntaxes.get_hookimpls():
            try:
                _register_all(impl.function())
            except Exception as exc:  # reported by name, the others go on
                self._problems.append(
                    PluginError(
                        f"plugin {impl.plugin_name!r} transfer syntaxes: {exc}",
                        plugin=impl.plugin_name,
                    )
                )

    def load(self) -> None:
        """Load the plugins now (they are otherwise loaded on first use)."""
        self._codecs()

    def _collect(self) -> tuple[tuple[Codec, str], ...]:
        self._register_syntaxes()
        found: dict[str, tuple[Codec, str]] = {}
        for impl in self._pm.hook.dicomframe_codecs.get_hookimpls():
            plugin = impl.plugin_name
            try:
                result = impl.function()
            except Exception as exc:
                self._problems.append(
                    PluginError(f"plugin {plugin!r} raised {exc!r}", plugin=plugin)
                )
                continue
            for codec in self._validated(result, plugin):
                if codec.name in found:
                    other = found[codec.name][1]
                    self._problems.append(
                        PluginError(
                            f"plugin {plugin!r} provides codec {codec.name!r}, already provided "
                            f"by {other!r}; the first one is kept",
                            plugin=plugin,
                        )
                    )
                    continue
                found[codec.name] = (codec, plugin)
        return tuple(found.values())

    def _validated(self, result: object, plugin: str) -> list[Codec]:
        if not isinstance(result, list | tuple) or not all(isinstance(c, Codec) for c in result):
            self._problems.append(
                PluginError(
                    f"plugin {plugin!r} returned {type(result).__name__}, not a list of Codec",
                    plugin=plugin,
                )
            )
            return []
        return list(result)

    # -- listing -----------------------------------------------------------------
    def codecs(self) -> list[CodecStatus]:
        """Every registered codec with its plugin, version and availability."""
        rows = []
        for codec, plugin in self._codecs():
            missing = codec.missing_modules()
            if self._is_blocked(codec, plugin, self._blocked):
                available, reason = False, "blocked"
            elif missing:
                available, reason = False, codec.install_hint()
            else:
                available, reason = True, ""
            version = self._versions.get(plugin, "")
            rows.append(CodecStatus(codec, plugin, version, available, reason))
        return sorted(rows, key=lambda r: r.codec.name)

    def get(self, name: str) -> Codec:
        """The codec called ``name``."""
        for codec, _ in self._codecs():
            if codec.name == name:
                return codec
        raise KeyError(
            f"no codec named {name!r}; known: {', '.join(c.name for c, _ in self._codecs())}"
        )

    @staticmethod
    def _is_blocked(codec: Codec, plugin: str, blocked: set[str]) -> bool:
        return codec.name in blocked or plugin in blocked

    # -- dispatch ------------------------------------------------------------------
    def decode(
        self,
        frame: EncapsulatedFrame,
        /,
        *,
        codec: str | None = None,
        prefer: Sequence[str] = (),
        block: Iterable[str] = (),
        **options: Any,
    ) -> NativeFrame:
        """Decode ``frame`` with the first codec that can (see :mod:`.dispatch`)."""
        return self.decode_with(frame, codec=codec, prefer=prefer, block=block, **options)[0]

    def decode_with(
        self,
        frame: EncapsulatedFrame,
        /,
        *,
        codec: str | None = None,
        prefer: Sequence[str] = (),
        block: Iterable[str] = (),
        sticky: str | None = None,
        **options: Any,
    ) -> tuple[NativeFrame, str]:
        """Decode ``frame``; also return the name of the codec that did.

        ``sticky`` names the codec that decoded the earlier frames of the same
        object: it is tried first, and a switch away from it warns
        :class:`~dicomframe.errors.CodecFallbackWarning`.
        """
        from dicomframe.core.frame import NativeFrame

        self._codecs()  # plugins may register the frame's (private) transfer syntax
        result, used = self._dispatch(
            frame.transfer_syntax,
            frame.info,
            lambda c: c.decode(frame, **options),
            encoding=False,
            options=(codec, prefer, block, sticky),
            index=frame.index,
        )
        if not isinstance(result, NativeFrame):
            raise DecodeError(
                f"codec {used!r} returned {type(result).__name__}, not a NativeFrame",
                codec=used,
                frame_index=frame.index,
            )
        return result, used

    def encode(
        self,
        frame: NativeFrame,
        syntax: str | TransferSyntax,
        /,
        *,
        codec: str | None = None,
        prefer: Sequence[str] = (),
        block: Iterable[str] = (),
        **options: Any,
    ) -> EncapsulatedFrame:
        """Encode ``frame`` in ``syntax`` with the first codec that can."""
        result, _ = self.encode_with(
            frame, syntax, codec=codec, prefer=prefer, block=block, **options
        )
        return result

    def encode_with(
        self,
        frame: NativeFrame,
        syntax: str | TransferSyntax,
        /,
        *,
        codec: str | None = None,
        prefer: Sequence[str] = (),
        block: Iterable[str] = (),
        sticky: str | None = None,
        **options: Any,
    ) -> tuple[EncapsulatedFrame, str]:
        """Encode ``frame`` in ``syntax``; also return the name of the codec that did.

        ``sticky`` names the codec that encoded the earlier frames of the same
        object, as for :meth:`decode_with`.
        """
        from dicomframe.core.frame import EncapsulatedFrame
        from dicomframe.core.transfer_syntax import resolve

        self._codecs()  # plugins may register a private transfer syntax
        target = resolve(syntax)
        result, used = self._dispatch(
            target,
            frame.info,
            lambda c: c.encode(frame, target, **options),
            encoding=True,
            options=(codec, prefer, block, sticky),
            index=frame.index,
        )
        if not isinstance(result, EncapsulatedFrame):
            raise EncodeError(
                f"codec {used!r} returned {type(result).__name__}, not an EncapsulatedFrame",
                codec=used,
            )
        return result, used

    def _dispatch(
        self,
        syntax: TransferSyntax,
        info: Any,
        call: Any,
        *,
        encoding: bool,
        options: tuple[str | None, Sequence[str], Iterable[str], str | None],
        index: int | None,
    ) -> tuple[Any, str]:
        """Dispatch one frame; return the result and the codec that produced it.

        ``sticky`` (the codec of the earlier frames) goes first, and a switch
        away from it warns :class:`~dicomframe.errors.CodecFallbackWarning`.
        """
        codec_name, prefer, block, sticky = options
        if sticky is not None and codec_name is None:
            prefer = [sticky, *prefer]
        snapshot = self._codecs()
        with self._lock:
            blocked = set(self._blocked) | set(block)
            preferred = [*prefer, *self._preferred]
        plugins = {c.name: p for c, p in snapshot}
        blocked |= {name for name, plugin in plugins.items() if plugin in blocked}
        candidates = dispatch.order(
            (c for c, _ in snapshot),
            syntax.uid,
            encoding=encoding,
            codec=codec_name,
            prefer=preferred,
        )
        if codec_name is not None:
            named = [c for c, _ in snapshot if c.name == codec_name]
            if not named:
                raise KeyError(f"no codec named {codec_name!r}")
            if not named[0].is_available():
                raise dispatch.unavailable(named[0])
        result, attempts = dispatch.run(
            candidates, call, info, encoding=encoding, blocked=blocked, syntax=syntax
        )
        if result is None:
            hints = sorted({r for c in candidates if not c.is_available() for r in c.requires})
            raise dispatch.no_codec(
                syntax, info, attempts, encoding=encoding, index=index, hints=hints
            )
        used = attempts[-1].codec
        if sticky is not None and used != sticky:
            verb = "encoded" if encoding else "decoded"
            warnings.warn(
                f"codec {sticky!r} {verb} the earlier frames but not frame {index}; "
                f"{used!r} {verb} it",
                CodecFallbackWarning,
                stacklevel=4,
            )
        return result, used


def _register_all(syntaxes: object) -> None:
    from dicomframe.core.transfer_syntax import TransferSyntax, register

    if not isinstance(syntaxes, list | tuple):
        raise TypeError(f"returned {type(syntaxes).__name__}, not a list of TransferSyntax")
    for syntax in syntaxes:
        if not isinstance(syntax, TransferSyntax):
            raise TypeError(f"{syntax!r} is not a TransferSyntax")
        register(syntax)


@functools.cache
def default_manager() -> CodecManager:
    """The process-wide manager, made (and its plugins loaded) on first use."""
    return CodecManager()
