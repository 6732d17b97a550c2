"""The extension points of dicomframe: a plugin returns the codecs it provides.

A second, rarely needed hook declares private transfer syntaxes that those
codecs handle.

Plugins are modules (or objects) registered through the ``dicomframe.codecs``
entry-point group, or with :meth:`CodecManager.register`. The built-in codecs
are registered exactly the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import pluggy

if TYPE_CHECKING:
    from dicomframe.core.transfer_syntax import TransferSyntax
    from dicomframe.plugins.codec import Codec

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "dicomframe.codecs"
F = TypeVar("F", bound=Callable[..., object])

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl: Callable[[F], F] = pluggy.HookimplMarker(PROJECT)


@hookspec
def dicomframe_codecs() -> Sequence[Codec]:  # type: ignore[empty-body]
    """Return the codecs this plugin provides.

    Called once each time a :class:`CodecManager` loads its plugins. It must
    be cheap: build :class:`Codec` values and never import the codec's
    backend here; backends are imported inside the codec's functions (and
    by the registry, once, the first time the codec is selected, to find a
    backend that fails to import or is too old). Plugins are called in a
    fixed order, dicomframe's own first; a codec whose name an earlier
    plugin already provides is refused and reported.
    """


@hookspec
def dicomframe_transfer_syntaxes() -> Sequence[TransferSyntax]:  # type: ignore[empty-body]
    """Return private transfer syntaxes this plugin's codecs handle.

    Called when plugins load, before :func:`dicomframe_codecs`. The syntaxes
    belong to the manager that loaded the plugin
    (:meth:`CodecManager.transfer_syntax`), so that files read with it and
    calls through it can name them by UID or keyword; for now they are also
    registered process-wide. Only for syntaxes the standard does not define.
    """
