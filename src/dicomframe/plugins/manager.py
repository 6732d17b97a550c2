"""CodecManager: owns the pluggy manager, loads plugins on first use, dispatches.

Nothing is loaded when dicomframe is imported. The first ``decode``,
``encode``, ``codecs()`` or ``transfer_syntax()`` of a private syntax loads
every entry point of the ``dicomframe.codecs`` group, the built-ins first
(:mod:`.loading` fixes the order and who owns a codec name), and reads the
environment:

- ``DICOMFRAME_BLOCK=pillow,gdcm``: codec or plugin names never used;
- ``DICOMFRAME_PLUGINS=rle,pylibjpeg``: load only these entry points;
- ``DICOMFRAME_PLUGIN_CACHE=0``: ask importlib.metadata every time.

The entry points and the backends' versions come from :mod:`.entry_cache`,
which remembers them across processes while the installed distributions stay
the same: a fresh process loads the registry without importing
importlib.metadata (about 30 ms) or reading every distribution's metadata.

Failures are never silent. A plugin that fails to import, returns something
that is not a list of :class:`Codec`, or reuses a codec name that is taken,
and a codec whose backend fails to import or is older than it requires
(:mod:`.backends`, checked the first time the codec is selected), each give
a :class:`~dicomframe.errors.PluginError` in :attr:`CodecManager.problems`
(its ``__cause__`` the original exception) and, once, at the first decode,
encode or load after it is found, a :class:`~dicomframe.errors.PluginWarning`
(:mod:`.problems` keeps them). Listing (``codecs()``, ``problems``,
``check()``) shows problems without warning: whoever lists them is already
told. Names given to ``prefer``,
``block``, ``choose`` or ``codec=`` must exist: a misspelt name raises
:class:`~dicomframe.errors.NoCodecError` with the close ones.

The default manager is made on first use by :func:`default_manager`; tests
and applications can make their own.
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import pluggy

from dicomframe.core.limits import resolve_limits
from dicomframe.core.transfer_syntax import TransferSyntax, resolve
from dicomframe.errors import CodecFallbackWarning, NoCodecError, PluginError
from dicomframe.plugins import backends, dispatch, hookspecs, loading
from dicomframe.plugins.codec import Codec
from dicomframe.plugins.loading import Collected, Origin
from dicomframe.plugins.orders import Orders
from dicomframe.plugins.problems import Problems

if TYPE_CHECKING:
    from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.limits import Limits

__all__ = ["CodecManager", "CodecStatus", "default_manager"]


@dataclass(frozen=True, slots=True)
class CodecStatus:
    """One row of ``dicomframe codecs``: a codec, where it comes from, whether it can be used.

    ``version`` and ``distribution`` are the plugin's; :attr:`backends` gives
    the versions of the libraries the codec runs on.
    """

    codec: Codec
    plugin: str
    version: str
    available: bool
    reason: str
    distribution: str = ""

    @property
    def name(self) -> str:
        """The codec's name."""
        return self.codec.name

    @property
    def backends(self) -> list[tuple[str, str | None]]:
        """``(distribution, installed version or None)`` of the codec's backend."""
        return backends.versions(self.codec)


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
        self._pm = loading.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._entry_points = entry_points
        self._lock = threading.RLock()
        self._loaded = False
        self._collected: Collected | None = None
        self._origins: dict[str, Origin] = {}
        self._blocked: set[str] = set()
        self._preferred: list[str] = []
        self._chosen: dict[bool, str | None] = {False: None, True: None}  # by encoding
        self._problems = Problems()
        self._orders = Orders()  # each candidate order, for the current registry snapshot

    # -- configuration --------------------------------------------------------
    def register(self, plugin: object, name: str | None = None) -> None:
        """Register a plugin object or module providing ``dicomframe_codecs``.

        Its codecs come after those of every entry point: a codec name that is
        taken is refused (see :attr:`problems`).
        """
        with self._lock:
            try:
                registered = self._pm.register(plugin, name=name)
                self._pm.check_pending()
            except (ValueError, pluggy.PluginValidationError) as exc:
                if isinstance(exc, pluggy.PluginValidationError):
                    self._pm.unregister(plugin)
                raise PluginError(
                    f"cannot register plugin {name or plugin!r}: {exc}", plugin=name
                ) from exc
            if registered is not None:
                self._origins[registered] = Origin(registered, sequence=len(self._origins))
            self._collected = None

    def block(self, *names: str) -> None:
        """Never use these codecs (or every codec of these plugins).

        Raises
        ------
        NoCodecError
            When a name is neither a codec nor a plugin (plugins are loaded
            to know); the message lists the close names.
        """
        self._check_names(names, plugins=True)
        with self._lock:
            self._blocked.update(names)

    def unblock(self, *names: str) -> None:
        """Undo :meth:`block`."""
        with self._lock:
            self._blocked.difference_update(names)

    def prefer(self, *names: str) -> None:
        """Try these codecs first, in this order, before the priority order.

        Raises
        ------
        NoCodecError
            When a name is not a codec's; the message lists the close names.
        """
        self._check_names(names)
        with self._lock:
            self._preferred = [*names, *(n for n in self._preferred if n not in names)]

    def choose(self, *, decoder: str | None = None, encoder: str | None = None) -> None:
        """Decode only with ``decoder`` and encode only with ``encoder`` from now on.

        The manager-wide form of ``codec=``, for a program that wants one
        codec whatever the caller (the command line's ``--decoder``): a frame
        that codec cannot handle fails, it never falls back. ``codec=`` on a
        call still wins; None (and ``choose()``) leaves the choice to
        dispatch again.

        Raises
        ------
        NoCodecError
            When a name is not a codec's; the message lists the close names.
        """
        self._check_names([n for n in (decoder, encoder) if n is not None])
        with self._lock:
            self._chosen = {False: decoder, True: encoder}

    # -- loading -----------------------------------------------------------------
    def load(self) -> None:
        """Load the plugins now (they are otherwise loaded on first use)."""
        self._codecs()
        self._warn_pending()

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if not self._entry_points:
            return
        self._blocked.update(_names(os.environ.get("DICOMFRAME_BLOCK", "")))
        wanted = set(_names(os.environ.get("DICOMFRAME_PLUGINS", "")))
        for entry in loading.entry_points(wanted):
            error = loading.load_entry_point(self._pm, entry, self._origins)
            if error is not None:
                self._problems.loaded(error)
            else:
                self._origins[entry.name] = loading.origin_of(entry)

    def _loaded_state(self) -> Collected:
        with self._lock:
            if self._collected is None:
                self._load()
                self._collected = loading.collect(self._pm, self._origin)
                self._problems.loaded()
            return self._collected

    def _codecs(self) -> tuple[tuple[Codec, str], ...]:
        return self._loaded_state().codecs

    def _origin(self, plugin: str) -> Origin:
        return self._origins.get(plugin) or Origin(plugin)

    # -- diagnostics ---------------------------------------------------------------
    @property
    def problems(self) -> list[PluginError]:
        """Plugins that failed to load or misbehaved, and codecs whose backend is unusable.

        Each is a :class:`~dicomframe.errors.PluginError` naming the plugin and
        its distribution, with the original exception as ``__cause__``.
        Backends are checked when a codec is first selected, or by :meth:`check`.
        """
        return self._problems.listed(self._loaded_state())

    def check(self) -> list[PluginError]:
        """Import every installed, unblocked codec's backend and check its version now.

        Backends are otherwise checked the first time their codec is selected
        for a frame; ``dicomframe codecs`` calls this to show every problem.
        Returns :attr:`problems`.
        """
        for codec, plugin in self._codecs():
            if not self._is_blocked(codec, plugin, self._blocked) and codec.is_available():
                self._ready(codec)
        return self.problems

    def _ready(self, codec: Codec) -> backends.Problem | None:
        """Why ``codec``'s installed backend cannot be used (checked once), or None."""

        def origin() -> Origin:
            return self._origin(next((p for c, p in self._codecs() if c.name == codec.name), ""))

        return self._problems.backend(codec, origin)

    def _warn_pending(self) -> None:
        """Warn once about each problem not warned about yet (the first use after it is found)."""
        self._problems.warn(self._collected)

    # -- listing -----------------------------------------------------------------
    def codecs(self) -> list[CodecStatus]:
        """Every registered codec with its plugin, version and availability, by name."""
        rows = [self._status(codec, plugin) for codec, plugin in self._codecs()]
        return sorted(rows, key=lambda r: r.codec.name)

    def order(
        self, syntax: str | TransferSyntax, /, *, encoding: bool = False
    ) -> list[CodecStatus]:
        """The codecs for ``syntax`` in the order dispatch tries them, with their status.

        The order of a call without ``codec=``, ``prefer=`` or a sticky codec:
        the manager's :meth:`choose` (only that codec), then its
        :meth:`prefer`, then priority (high first), then name. Unusable codecs
        are listed where they would be tried, with the reason.
        """
        target = self._resolve(syntax)
        with self._lock:
            chosen, preferred = self._chosen[encoding], list(self._preferred)
        codecs = (c for c, _ in self._codecs())
        ordered = dispatch.order(
            codecs, target.uid, encoding=encoding, codec=chosen, prefer=preferred
        )
        plugins = {c.name: p for c, p in self._codecs()}
        return [self._status(codec, plugins[codec.name]) for codec in ordered]

    def _status(self, codec: Codec, plugin: str) -> CodecStatus:
        origin = self._origin(plugin)
        broken = self._problems.known_backend(codec.name)
        if self._is_blocked(codec, plugin, self._blocked):
            available, reason = False, "blocked"
        elif not codec.is_available():
            available, reason = False, codec.install_hint()
        elif broken is not None:
            available, reason = False, broken[0]
        else:
            available, reason = True, ""
        return CodecStatus(
            codec, plugin, origin.version, available, reason, origin.distribution or ""
        )

    def get(self, name: str) -> Codec:
        """The codec called ``name``.

        Raises
        ------
        NoCodecError
            When there is none; the message lists the close names.
        """
        for codec, _ in self._codecs():
            if codec.name == name:
                return codec
        raise dispatch.unknown_name(name, [c.name for c, _ in self._codecs()], what="codec")

    def transfer_syntax(self, uid: str) -> TransferSyntax | None:
        """The transfer syntax of ``uid``: a standard one, or one this manager's plugins declare.

        Plugins are loaded only when ``uid`` is not a standard syntax (a
        private syntax comes from a plugin's ``dicomframe_transfer_syntaxes``
        hook). A keyword is looked up the same way. None when neither knows
        it. Syntaxes another manager's plugins declare are not this
        manager's: this is how a reader given a manager (``codecs=``) learns
        the private syntaxes of that manager alone.
        """
        found = self._lookup(uid)
        self._warn_pending()  # when plugins were loaded for it: their problems
        return found

    def _lookup(self, name: str) -> TransferSyntax | None:
        text = name.strip().rstrip("\x00").strip()
        standard = loading.standard_syntax(text)
        if standard is not None:
            return standard
        collected = self._loaded_state()
        return next((s for s in collected.syntaxes.values() if text in (s.uid, s.keyword)), None)

    def _resolve(self, syntax: str | TransferSyntax) -> TransferSyntax:
        """A syntax by UID or keyword, this manager's private ones included.

        Raises UnknownTransferSyntaxError (with close names) when unknown.
        """
        if isinstance(syntax, TransferSyntax):
            return syntax
        return self._lookup(syntax) or resolve(syntax)

    @staticmethod
    def _is_blocked(codec: Codec, plugin: str, blocked: Collection[str]) -> bool:
        return codec.name in blocked or plugin in blocked

    def _check_names(self, names: Iterable[str], *, plugins: bool = False) -> None:
        """Raise NoCodecError for the first name that is no codec's (nor plugin's)."""
        names = list(names)
        if not names:
            return
        snapshot = self._codecs()
        known = {c.name for c, _ in snapshot}
        if plugins:
            known |= {p for _, p in snapshot} | set(self._origins)
        for name in names:
            if name not in known:
                raise dispatch.unknown_name(
                    name, known, what="codec or plugin" if plugins else "codec"
                )

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

    def decode_with(  # noqa: PLR0913 - every option is keyword-only
        self,
        frame: EncapsulatedFrame,
        /,
        *,
        codec: str | None = None,
        prefer: Sequence[str] = (),
        block: Iterable[str] = (),
        sticky: str | None = None,
        avoid: str | None = None,
        limits: Limits | None = None,
        **options: Any,
    ) -> tuple[NativeFrame, str]:
        """Decode ``frame``; also return the name of the codec that did.

        ``sticky`` names the codec that decoded the earlier frames of the same
        object: it is tried first, and a switch away from it warns
        :class:`~dicomframe.errors.CodecFallbackWarning`. ``avoid`` names a
        codec used only when no other could even try (all blocked, not
        installed or declining): verification passes the encoder's name, so
        that another decoder checks its stream whenever one is installed, and
        a stream the others fail on fails. ``limits`` (the default limits when
        None) bound the decoded frame; they are the registry's, never passed
        on to a codec.

        Raises
        ------
        LimitError
            When the decoded frame would exceed ``limits.max_frame_bytes``;
            no codec is called.
        CodestreamError
            A DecodeError and a NoCodecError: the codestream's header
            contradicts the dataset (:mod:`.codestream`); no codec is called.
        CodecUnavailableError
            When ``codec=`` (or :meth:`choose`) names a codec whose backend is
            missing, fails to import or is too old.
        NoCodecError
            When no codec decodes the frame, or a name given is unknown.
        """
        self._codecs()  # plugins may register the frame's (private) transfer syntax
        dispatch.check_limits(frame, resolve_limits(limits))
        choice = dispatch.Choice(codec, prefer, block, sticky, avoid)
        if avoid is not None and codec is None:
            try:
                return self._decode(frame, choice, options)
            except NoCodecError as error:
                if any(a.outcome == "failed" for a in error.attempts):
                    raise  # another decoder ran and failed on the stream
            choice = dispatch.Choice(
                codec, prefer, block, sticky
            )  # no other could try: the avoided one
        return self._decode(frame, choice, options)

    def _decode(
        self, frame: EncapsulatedFrame, choice: dispatch.Choice, options: dict[str, Any]
    ) -> tuple[NativeFrame, str]:
        result, used = self._dispatch(
            frame.transfer_syntax,
            frame.info,
            dispatch.decoding(frame, options),
            encoding=False,
            choice=choice,
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
        target = self._resolve(syntax)
        result, used = self._dispatch(
            target,
            frame.info,
            dispatch.encoding(frame, target, options),
            encoding=True,
            choice=dispatch.Choice(codec, prefer, block, sticky),
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
        choice: dispatch.Choice,
        index: int | None,
        validate: dispatch.Validator,
        refused: dispatch.Refusal | None = None,
    ) -> tuple[object, str]:
        """Dispatch one frame; return the valid result and the codec that produced it."""
        self._warn_pending()  # the registry's first use: what failed to load
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
            ready=self._ready,
        )
        self._warn_pending()  # backends found unusable just now
        if result is None:
            raise dispatch.failure(
                syntax, info, attempts, candidates, encoding=encoding, index=index, refused=refused
            )
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
        self, syntax: TransferSyntax, *, encoding: bool, choice: dispatch.Choice
    ) -> tuple[list[Codec], frozenset[str]]:
        """The codecs to try, in order, and the names blocked for this call.

        ``sticky`` (the codec of the earlier frames) goes first unless a codec
        is named (``codec=``, or the manager's :meth:`choose`); a named codec
        that is unknown, does not handle the syntax, or is not usable is an
        error at once, never a silent fallback.
        """
        snapshot = self._codecs()
        block = list(choice.block)
        self._check_names(choice.prefer)
        self._check_names(block, plugins=True)
        with self._lock:
            named = choice.codec or self._chosen[encoding]
            blocked = frozenset(self._blocked).union(block)
            preferred = (*choice.prefer, *self._preferred)
        if choice.sticky is not None and named is None:
            preferred = (choice.sticky, *preferred)
        candidates, every_blocked = self._orders.get(
            snapshot, (syntax.uid, encoding, named, preferred, blocked)
        )
        if named is not None:
            self._check_named(named, syntax, encoding=encoding, blocked=every_blocked)
        return [c for c in candidates if c.name != choice.avoid], every_blocked

    def _check_named(
        self, name: str, syntax: TransferSyntax, *, encoding: bool, blocked: Collection[str]
    ) -> None:
        """Refuse a named codec that is unknown, does not handle ``syntax``, or is unusable.

        A blocked one is left to dispatch, which reports it blocked: its
        backend is not imported (it may be blocked because importing it fails).
        """
        codec = self.get(name)
        if not codec.handles(syntax.uid, encoding=encoding):
            verb = "encode" if encoding else "decode"
            able = [c.name for c, _ in self._codecs() if c.handles(syntax.uid, encoding=encoding)]
            raise NoCodecError(
                f"codec {name!r} does not {verb} {syntax.keyword} ({syntax.uid}); "
                f"codecs that do: {', '.join(sorted(able)) or 'none installed'}",
                syntax=syntax,
            )
        if not codec.is_available():
            raise dispatch.unavailable(codec)
        if name in blocked:
            return
        broken = self._ready(codec)
        if broken is not None:
            self._warn_pending()
            raise dispatch.unavailable(codec, broken)


def _names(text: str) -> list[str]:
    """The names in a comma-separated environment variable."""
    return [name.strip() for name in text.split(",") if name.strip()]


@functools.cache
def default_manager() -> CodecManager:
    """The process-wide manager, made (and its plugins loaded) on first use."""
    return CodecManager()
