"""A codec's backend modules: found without importing them, imported at the least cost.

``Codec.modules`` are probed without importing anything (:func:`find`).
``importlib.util.find_spec`` does that for a top-level name, but for a dotted
one it imports the packages above it, running their ``__init__``; so
:func:`find` looks each package up on the path instead.

:func:`load` imports a module for use. A compiled submodule declared
:func:`standalone` (pylibjpeg-rle's ``rle.rle``) is loaded on its own,
without running its packages' ``__init__``: a backend's ``__init__`` often
asks ``importlib.metadata`` for its version, 20-40 ms of imports in a fresh
process, more than a short job spends in the codec. Only a declared module
is, because many compiled modules import their own package while they
initialise (Cython's often do) and fail when loaded alone. It is kept here, not
left in ``sys.modules``: a later import of the package then runs as it
always does and binds its submodule as an attribute (the interpreter hands
a compiled module the same state when it is imported again). Any other
module is imported as usual.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

__all__ = ["find", "load", "standalone"]


_STANDALONE: set[str] = set()  # declared: compiled submodules that need nothing of their packages
_ALONE: dict[str, ModuleType] = {}  # those loaded without their packages


def find(name: str) -> importlib.machinery.ModuleSpec | None:
    """The spec of module ``name``, without importing it or the packages above it."""
    loaded = sys.modules.get(name) or _ALONE.get(name)
    if loaded is not None:  # as cheap as find_spec for a module already imported
        return getattr(loaded, "__spec__", None) or importlib.machinery.ModuleSpec(name, None)
    parent, _, _ = name.rpartition(".")
    if not parent:
        return importlib.util.find_spec(name)
    package = find(parent)
    if package is None or package.submodule_search_locations is None:
        return None
    return importlib.machinery.PathFinder.find_spec(name, list(package.submodule_search_locations))


def standalone(name: str) -> str:
    """Declare ``name`` a compiled submodule that needs nothing of its packages; return it.

    For ``Codec.modules``: ``modules=(standalone("rle.rle"),)``. :func:`load`
    then loads it alone, without running its packages' ``__init__``.
    """
    _STANDALONE.add(name)
    return name


def load(name: str) -> ModuleType:
    """Module ``name``, imported; a compiled submodule without its packages' ``__init__``."""
    loaded = sys.modules.get(name) or _ALONE.get(name)
    if loaded is not None:
        return loaded
    if name in _STANDALONE and name.rpartition(".")[0] not in sys.modules:
        spec = find(name)
        if spec is not None and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            if sys.modules.get(name) is module:  # a single-phase module registers itself
                del sys.modules[name]
            return _ALONE.setdefault(name, module)
    return importlib.import_module(name)
