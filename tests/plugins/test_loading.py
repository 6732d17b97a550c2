"""Loading plugins (``dicomframe.plugins.loading``): the plugin manager's quick look at modules."""

from __future__ import annotations

import importlib
import inspect
import types

import pluggy
import pytest

from dicomframe.errors import PluginError
from dicomframe.plugins import CodecManager, hookimpl, hookspecs, loading

BUILT_INS = [
    "dicomframe.codecs.rle",
    "dicomframe.codecs.deflate",
    "dicomframe.codecs.pylibjpeg",
    "dicomframe.codecs.pillow",
    "dicomframe.codecs.jpegls",
    "dicomframe.codecs.imagecodecs",
]


def _managers() -> tuple[pluggy.PluginManager, loading.PluginManager]:
    return pluggy.PluginManager(hookspecs.PROJECT), loading.PluginManager(hookspecs.PROJECT)


@pytest.mark.parametrize("name", BUILT_INS)
def test_each_name_of_a_built_in_gets_pluggys_answer(name: str) -> None:
    module = importlib.import_module(name)
    theirs, ours = _managers()
    for attribute in dir(module):
        assert ours.parse_hookimpl_opts(module, attribute) == theirs.parse_hookimpl_opts(
            module, attribute
        ), attribute


class _Holder:
    @hookimpl
    def dicomframe_codecs(self) -> list[object]:
        return []


def _module(**names: object) -> types.ModuleType:
    module = types.ModuleType("acme_codecs")
    module.__dict__.update(names)
    return module


@hookimpl
def dicomframe_codecs() -> list[object]:
    return []


@hookimpl
def dicomframe_codec() -> list[object]:  # a misspelt hook
    return []


def test_a_module_is_registered_with_its_hooks_only() -> None:
    module = _module(
        dicomframe_codecs=dicomframe_codecs, helper=len, np=pytest, LIMIT=3, Holder=_Holder
    )
    manager = CodecManager(entry_points=False)
    manager.register(module, "acme")
    assert manager._pm.hook.dicomframe_codecs.get_hookimpls()[0].function is dicomframe_codecs
    bound = _module(dicomframe_codecs=_Holder().dicomframe_codecs)  # a method, left to pluggy
    manager.register(bound, "bound")
    assert len(manager._pm.hook.dicomframe_codecs.get_hookimpls()) == 2


def test_a_marked_function_that_is_no_hook_is_still_refused() -> None:
    manager = CodecManager(entry_points=False)
    with pytest.raises(PluginError, match="dicomframe_codec"):
        manager.register(_module(dicomframe_codec=dicomframe_codec), "misspelt")


def test_unmarked_names_of_a_module_are_not_looked_up_statically(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pluggy's lookup (``inspect.getattr_static``) runs for the hook alone."""
    looked: list[str] = []
    lookup = inspect.getattr_static

    def counted(obj: object, name: str, *default: object) -> object:
        looked.append(name)
        return lookup(obj, name, *default)

    monkeypatch.setattr(inspect, "getattr_static", counted)
    module = importlib.import_module("dicomframe.codecs.rle")
    _, ours = _managers()
    ours.register(module)
    assert "dicomframe_codecs" in looked
    assert len(looked) < 5 < len(dir(module))
