"""A codec's backend: does it import, is it new enough, which version is installed.

``Codec.is_available`` asks :func:`.modules.find`, which imports nothing and so only
says that a module is installed. A backend that is installed but fails to
import (a missing shared library, a build for another numpy) or is older
than the codec's ``requires`` (:meth:`~dicomframe.plugins.Codec.too_old`)
would otherwise make every call fail and fall back without a word.
:func:`problem` finds out; the registry runs it once per codec, the first
time the codec is selected for a frame, never when plugins load, so loading
stays cheap.
"""

from __future__ import annotations

import platform
import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from dicomframe.errors import CodecUnavailableError
from dicomframe.plugins import entry_cache
from dicomframe.plugins.modules import load as load_module

if TYPE_CHECKING:
    from dicomframe.plugins.codec import Codec

__all__ = ["Problem", "installed_version", "problem", "requirement_names", "versions"]

Problem = tuple[str, BaseException]  # why the codec cannot be used, and the error behind it

_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)")


def requirement_names(codec: Codec) -> list[str]:
    """The distributions named by ``codec.requires``, in order."""
    names = []
    for requirement in codec.requires:
        match = _REQUIREMENT.match(requirement)
        if match is not None:
            names.append(match.group(1))
    return names


def installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None when it is not installed.

    Remembered across processes (:mod:`.entry_cache`): no import of importlib.metadata.
    """
    return entry_cache.version(distribution)


def problem(codec: Codec) -> Problem | None:
    """Why ``codec`` cannot be used although its modules are installed, or None.

    First the installed versions against ``codec.requires`` (metadata only),
    then the import of each of ``codec.modules`` (:func:`.modules.load`: a
    compiled submodule without its package): any exception is the reason (a
    backend's import may raise more than ImportError).
    """
    too_old = codec.too_old()
    if too_old is not None:
        wanted = " ".join(f'"{r}"' for r in codec.requires)
        reason = f"{too_old}: pip install --upgrade {wanted}"
        return reason, CodecUnavailableError(reason, codec=codec.name, requires=codec.requires)
    for module in codec.modules:
        try:
            load_module(module)
        except Exception as exc:  # whatever the backend's import raises is why it is unusable
            return f"backend {module!r} failed to import: {type(exc).__name__}: {exc}", exc
    return None


def versions(codec: Codec) -> list[tuple[str, str | None]]:
    """The backend's distributions and their installed versions (None: not installed).

    The distributions named in ``codec.requires``; without any, those that
    provide ``codec.modules`` (a standard-library module is "Python" and its
    version). This is the backend's version, not the plugin's.
    """
    names = requirement_names(codec)
    if names:
        return [(name, installed_version(name)) for name in names]
    found: list[tuple[str, str | None]] = []
    providers: Mapping[str, list[str]] | None = None
    for module in codec.modules:
        top = module.partition(".")[0]
        if top in sys.stdlib_module_names:
            found.append(("Python", platform.python_version()))
            continue
        if providers is None:  # scans every installed distribution: only when needed
            import importlib.metadata

            providers = importlib.metadata.packages_distributions()
        found.extend((name, installed_version(name)) for name in providers.get(top, [top]))
    return found
