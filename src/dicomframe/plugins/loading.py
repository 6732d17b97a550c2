"""Loading plugins: in a fixed order, each codec name owned by the first plugin to claim it.

Entry points of the ``dicomframe.codecs`` group load in this order, whatever
order the installed distributions are found in:

1. the built-ins (entry points of the ``dicomframe`` distribution itself),
   sorted by name;
2. every other distribution's, sorted by entry-point name, then
   distribution;
3. plugins given to :meth:`~dicomframe.plugins.CodecManager.register`, in
   the order they were given.

Codecs are collected in the same order, so a name belongs to whoever came
first: a built-in codec can never be replaced by a third-party plugin that
reuses its name. The later codec is refused, and the problem names both
plugins and both distributions. Every problem is a
:class:`~dicomframe.errors.PluginError` whose ``__cause__`` is the original
exception; the manager also warns :class:`~dicomframe.errors.PluginWarning`
once for each (:func:`warning`).

The entry points are read through :mod:`.entry_cache`, which remembers them
across processes while the installed distributions stay the same, so that a
fresh process need not import :mod:`importlib.metadata` nor read every
distribution's metadata.
"""

from __future__ import annotations

import threading
import types
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pluggy

from dicomframe.core.record import Record, record
from dicomframe.core.transfer_syntax import TransferSyntax, register, resolve
from dicomframe.errors import PluginError, PluginWarning, UnknownTransferSyntaxError
from dicomframe.plugins import entry_cache, hookspecs
from dicomframe.plugins.codec import Codec
from dicomframe.plugins.entry_cache import Entry

__all__ = [
    "Collected",
    "Entry",
    "Origin",
    "collect",
    "entry_points",
    "load_entry_point",
    "problem",
    "standard_syntax",
    "warning",
]

DISTRIBUTION = "dicomframe"  # whose entry points are the built-ins


@record
class Origin(Record):
    """Where a plugin came from, which decides its place in the loading order.

    ``distribution`` is None for a plugin given to ``register()`` directly;
    ``sequence`` orders those.
    """

    plugin: str
    distribution: str | None = None
    version: str = ""
    sequence: int = 0

    @property
    def builtin(self) -> bool:
        """True for dicomframe's own plugins."""
        return _normalized(self.distribution or "") == DISTRIBUTION

    def rank(self) -> tuple[int, str, int]:
        """Built-ins, then other entry points by name, then direct registrations in order."""
        if self.distribution is None:
            return (2, "", self.sequence)
        return (0 if self.builtin else 1, self.plugin, 0)

    def describe(self) -> str:
        """``plugin 'acme' (acme-dicom-codecs 1.2.3)``: who to blame, and what to uninstall."""
        where = "registered directly"
        if self.distribution is not None:
            where = f"{self.distribution} {self.version}".strip()
        return f"plugin {self.plugin!r} ({where})"


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, which looks at a plugin module's functions only.

    Registering a plugin, pluggy asks of every name ``dir()`` lists whether
    it is a hook implementation, through ``inspect.getattr_static``: 3.4 ms
    for the six built-in modules, which also hold their imports and helpers,
    on the way to every first decode. In a module a hook implementation is
    a function carrying pluggy's marker, and the module's own dictionary
    says so at once (pluggy takes only functions, methods, static and class
    methods); a marked function, or a method, is left to pluggy unchanged, so
    a marked name that is no hook is still refused.
    """

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        """None at once for a module's name that holds no marked function; else pluggy's answer."""
        if isinstance(plugin, types.ModuleType):
            value = plugin.__dict__.get(name)
            if isinstance(value, types.FunctionType):
                if f"{self.project_name}_impl" not in value.__dict__:
                    return None
            elif not isinstance(value, _HOOKABLE):
                return None  # what pluggy would say: only functions and methods are hooks
        return super().parse_hookimpl_opts(plugin, name)


_HOOKABLE = (types.MethodType, staticmethod, classmethod)  # left to pluggy in a module


def _normalized(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def entry_points(wanted: set[str]) -> list[Entry]:
    """The group's entry points in loading order (``wanted``: only these names, if any)."""
    found = [
        entry
        for entry in entry_cache.entry_points(hookspecs.PROJECT)
        if not wanted or entry.name in wanted
    ]

    def key(entry: Entry) -> tuple[int, str, str]:
        distribution = _normalized(entry.distribution or "")
        return (0 if distribution == DISTRIBUTION else 1, entry.name, distribution)

    return sorted(found, key=key)


def origin_of(entry: Entry) -> Origin:
    """The origin of an entry point's plugin."""
    if entry.distribution is None:
        return Origin(entry.name, "an unknown distribution")
    return Origin(entry.name, entry.distribution, entry.version)


def problem(message: str, origin: Origin | None, error: BaseException | None) -> PluginError:
    """A PluginError naming the plugin and its distribution, ``error`` as its cause."""
    subject = origin.describe() if origin is not None else "configuration"
    result = PluginError(f"{subject}: {message}", plugin=origin.plugin if origin else None)
    result.__cause__ = error
    return result


def warning(error: PluginError) -> PluginWarning:
    """The warning for a problem: same words, with ``plugin`` and ``error`` attached.

    A warning cannot chain an exception when it is shown, so the original
    exception travels as ``warning.error`` (and ``__cause__``) for code that
    catches it.
    """
    return PluginWarning(str(error), plugin=error.plugin, error=error.__cause__)


def load_entry_point(
    pm: pluggy.PluginManager, entry: Entry, taken: dict[str, Origin]
) -> PluginError | None:
    """Import and register one entry point's plugin; the problem when it cannot be."""
    origin = origin_of(entry)
    if entry.name in taken:
        other = taken[entry.name]
        return problem(
            f"the plugin name {entry.name!r} is taken by {other.describe()}; refused",
            origin,
            None,
        )
    try:
        plugin = entry.load()
        pm.register(plugin, name=entry.name)
    except Exception as exc:  # an import error, or anything the module raises at import
        return problem(f"failed to load: {type(exc).__name__}: {exc}", origin, exc)
    return validate(pm, entry.name, origin)


def validate(pm: pluggy.PluginManager, name: str, origin: Origin | None) -> PluginError | None:
    """Unregister a plugin whose hook implementations do not match a hook specification."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        pm.unregister(name=name)
        return problem(f"failed to load: {exc}", origin, exc)
    return None


@record
class Collected(Record):
    """What the plugins provide: codecs with their plugin, private syntaxes, problems."""

    codecs: tuple[tuple[Codec, str], ...]
    syntaxes: dict[str, TransferSyntax]
    problems: list[PluginError]


def collect(pm: pluggy.PluginManager, origins: Callable[[str], Origin]) -> Collected:
    """Call every plugin's hooks in loading order; the first to claim a codec name owns it."""
    problems: list[PluginError] = []
    syntaxes = _syntaxes(pm, origins, problems)
    found: dict[str, tuple[Codec, str]] = {}
    for impl in _in_order(pm.hook.dicomframe_codecs.get_hookimpls(), origins):
        origin = origins(impl.plugin_name)
        for codec in _codecs_of(impl.function, origin, problems):
            if codec.name in found:
                owner = origins(found[codec.name][1])
                problems.append(_name_taken(codec.name, origin, owner))
                continue
            found[codec.name] = (codec, impl.plugin_name)
    return Collected(tuple(found.values()), syntaxes, problems)


def _in_order(
    impls: Iterable[pluggy.HookImpl], origins: Callable[[str], Origin]
) -> list[pluggy.HookImpl]:
    return sorted(impls, key=lambda impl: origins(impl.plugin_name).rank())


def _name_taken(name: str, origin: Origin, owner: Origin) -> PluginError:
    return problem(
        f"codec {name!r} is refused: the name is already provided by {owner.describe()}, "
        "which loads first",
        origin,
        None,
    )


def _codecs_of(
    hook: Callable[[], object], origin: Origin, problems: list[PluginError]
) -> list[Codec]:
    try:
        result = hook()
    except Exception as exc:  # the plugin is reported by name; the others go on
        message = f"dicomframe_codecs raised {type(exc).__name__}: {exc}"
        problems.append(problem(message, origin, exc))
        return []
    if not isinstance(result, list | tuple) or not all(isinstance(c, Codec) for c in result):
        message = f"dicomframe_codecs returned {type(result).__name__}, not a list of Codec"
        problems.append(problem(message, origin, TypeError(message)))
        return []
    return list(result)


# -- private transfer syntaxes ----------------------------------------------------------------
# UIDs that plugins added to the process-wide table of dicomframe.core.transfer_syntax, so that
# "standard" can still be told from "declared by some plugin" until that table is per manager.
_declared: set[str] = set()
_declared_lock = threading.Lock()


def standard_syntax(name: str) -> TransferSyntax | None:
    """The syntax of a UID or keyword when dicomframe knows it without any plugin, else None."""
    with _declared_lock:
        found = _resolved(name)
        return None if found is None or found.uid in _declared else found


def _resolved(name: str) -> TransferSyntax | None:
    try:
        return resolve(name)
    except UnknownTransferSyntaxError:
        return None


def _syntaxes(
    pm: pluggy.PluginManager, origins: Callable[[str], Origin], problems: list[PluginError]
) -> dict[str, TransferSyntax]:
    """The syntaxes plugins declare, by UID; also registered process-wide for the reader."""
    found: dict[str, TransferSyntax] = {}
    for impl in _in_order(pm.hook.dicomframe_transfer_syntaxes.get_hookimpls(), origins):
        origin = origins(impl.plugin_name)
        try:
            declared = _checked_syntaxes(impl.function())
            for syntax in declared:
                _declare(syntax, found)
        except Exception as exc:  # reported by name, the others go on
            message = f"dicomframe_transfer_syntaxes: {type(exc).__name__}: {exc}"
            problems.append(problem(message, origin, exc))
    return found


def _checked_syntaxes(syntaxes: object) -> Sequence[TransferSyntax]:
    if not isinstance(syntaxes, list | tuple):
        raise TypeError(f"returned {type(syntaxes).__name__}, not a list of TransferSyntax")
    for syntax in syntaxes:
        if not isinstance(syntax, TransferSyntax):
            raise TypeError(f"{syntax!r} is not a TransferSyntax")
    return syntaxes


def _declare(syntax: TransferSyntax, found: dict[str, TransferSyntax]) -> None:
    """Add ``syntax`` to this manager's table and, for now, to the process-wide one."""
    known = found.get(syntax.uid)
    if known is not None and known != syntax:
        raise ValueError(f"transfer syntax {syntax.uid} is already declared as {known}")
    with _declared_lock:
        private = _resolved(syntax.uid) is None
        register(syntax)  # ValueError when a different syntax has the UID or keyword
        if private:
            _declared.add(syntax.uid)
    found[syntax.uid] = syntax
