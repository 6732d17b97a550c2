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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import pluggy

from dicomframe.core.limits import resolve_limits
from dicomframe.errors import CodecFallbackWarning, PluginError
from dicomframe.plugins import dispatch, hookspecs
from dicomframe.plugins.codec import Codec

if TYPE_CHECKING:
    from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.limits import Limits
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
        limits: Limits | None = None,
        **options: Any,
    ) -> NativeFrame:
        """Decode ``frame`` with the first codec that can (see :mod:`.dispatch`)."""
        return self.decode_with(
            frame, codec=codec, prefer=prefer, block=block, limits=limits, **options
        )[0]

    def decode_with(
        self,
        frame: EncapsulatedFrame,
        /,
        *,
        codec: str | None = None,
        prefer: Sequence[str] = (),
        block: Iterable[str] = (),
        sticky: str | None = None,
        limits: Limits | None = None,
        **options: Any,
    ) -> tuple[NativeFrame, str]:
        """Decode ``frame``; also return the name of the codec that did.

        ``sticky`` names the codec that decoded the earlier frames of the same
        object: it is tried first, and a switch away from it warns
        :class:`~dicomframe.errors.CodecFallbackWarning`. ``limits`` (the
        default limits when None) bound the decoded frame; they are the
        registry's, never passed on to a codec.

        Raises
        ------
        LimitError
            When the decoded frame would exceed ``limits.max_frame_bytes``;
            no codec is called.
        CodestreamError
            A DecodeError and a NoCodecError: the codestream's header
            contradicts the dataset (:mod:`.codestream`); no codec is called.
        NoCodecError
            When no codec decodes the frame.
        """
        self._codecs()  # plugins may register the frame's (private) transfer syntax
        dispatch.check_limits(frame, resolve_limits(limits))
        result, used = self._dispatch(
            frame.transfer_syntax,
            frame.info,
            _decoding(frame, options),
            encoding=False,
            choice=_Choice(codec, prefer, block, sticky),
            index=frame.index,
            validate=lambda result: dispatch.decoded_problem(result, frame),
            refused=dispatch.refusal(frame),
        )
        return cast("NativeFrame", result), used

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
        from dicomframe.core.transfer_syntax import resolve

        self._codecs()  # plugins may register a private transfer syntax
        target = resolve(syntax)
        result, used = self._dispatch(
            target,
            frame.info,
            _encoding(frame, target, options),
            encoding=True,
            choice=_Choice(codec, prefer, block, sticky),
            index=frame.index,
            validate=dispatch.encoded_problem,
        )
        return cast("EncapsulatedFrame", result), used

    def _dispatch(  # noqa: PLR0913 - keyword-only facts of one dispatch
        self,
        syntax: TransferSyntax,
        info: FrameInfo,
        call: Callable[[Codec], object],
        *,
        encoding: bool,
        choice: _Choice,
        index: int | None,
        validate: dispatch.Validator,
        refused: dispatch.Refusal | None = None,
    ) -> tuple[object, str]:
        """Dispatch one frame; return the valid result and the codec that produced it."""
        candidates, blocked = self._candidates(syntax, encoding=encoding, choice=choice)
        result, attempts = dispatch.run(
            candidates,
            call,
            info,
            encoding=encoding,
            blocked=blocked,
            syntax=syntax,
            validate=validate,
            refused=refused,
        )
        if result is None:
            hints = sorted({r for c in candidates if not c.is_available() for r in c.requires})
            error = dispatch.no_codec(
                syntax, info, attempts, encoding=encoding, index=index, hints=hints
            )
            if refused is not None and any(a.outcome == "failed" for a in attempts):
                raise dispatch.refused_error(error, refused)
            raise error
        used = attempts[-1].codec
        if choice.sticky is not None and used != choice.sticky:
            verb = "encoded" if encoding else "decoded"
            warnings.warn(
                f"codec {choice.sticky!r} {verb} the earlier frames but not frame {index}; "
                f"{used!r} {verb} it",
                CodecFallbackWarning,
                stacklevel=4,
            )
        return result, used

    def _candidates(
        self, syntax: TransferSyntax, *, encoding: bool, choice: _Choice
    ) -> tuple[list[Codec], set[str]]:
        """The codecs to try, in order, and the names blocked for this call.

        ``sticky`` (the codec of the earlier frames) goes first unless a codec
        is named; a named codec that is unknown or not installed is an error
        at once, never a silent fallback.
        """
        prefer = list(choice.prefer)
        if choice.sticky is not None and choice.codec is None:
            prefer = [choice.sticky, *prefer]
        snapshot = self._codecs()
        with self._lock:
            blocked = set(self._blocked) | set(choice.block)
            preferred = [*prefer, *self._preferred]
        blocked |= {codec.name for codec, plugin in snapshot if plugin in blocked}
        if choice.codec is not None:
            named = [c for c, _ in snapshot if c.name == choice.codec]
            if not named:
                raise KeyError(f"no codec named {choice.codec!r}")
            if not named[0].is_available():
                raise dispatch.unavailable(named[0])
        candidates = dispatch.order(
            (c for c, _ in snapshot),
            syntax.uid,
            encoding=encoding,
            codec=choice.codec,
            prefer=preferred,
        )
        return candidates, blocked


@dataclass(frozen=True, slots=True)
class _Choice:
    """What one call asks of the registry beyond the frame: which codecs, in what order."""

    codec: str | None
    prefer: Sequence[str]
    block: Iterable[str]
    sticky: str | None


def _decoding(frame: EncapsulatedFrame, options: dict[str, Any]) -> Callable[[Codec], object]:
    """The call that asks one codec to decode ``frame``."""

    def call(codec: Codec) -> object:
        assert codec.decode is not None  # dispatch.order keeps codecs that decode
        return codec.decode(frame, **options)

    return call


def _encoding(
    frame: NativeFrame, target: TransferSyntax, options: dict[str, Any]
) -> Callable[[Codec], object]:
    """The call that asks one codec to encode ``frame`` in ``target``."""

    def call(codec: Codec) -> object:
        assert codec.encode is not None  # dispatch.order keeps codecs that encode
        return codec.encode(frame, target, **options)

    return call


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
