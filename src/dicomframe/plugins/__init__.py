"""The codec plugin system: hook specification, the Codec contract, the manager.

A third-party package provides codecs with one hook implementation::

    from dicomframe.plugins import Codec, hookimpl

    @hookimpl
    def dicomframe_codecs() -> list[Codec]:
        return [MY_CODEC]

and declares the module in its ``pyproject.toml``::

    [project.entry-points."dicomframe.codecs"]
    my-codec = "my_package.plugin"

What a codec author needs besides is in :mod:`dicomframe.plugins.helpers`
(``out=`` targets, sign correction, codestream headers, colour finishing).
See docs/plugins.md.
"""

from dicomframe.plugins import helpers
from dicomframe.plugins.codec import Capabilities, Codec, DecodeFn, EncodeFn, Threading
from dicomframe.plugins.dispatch import Attempt
from dicomframe.plugins.hookspecs import hookimpl
from dicomframe.plugins.manager import CodecManager, CodecStatus, default_manager

__all__ = [
    "Attempt",
    "Capabilities",
    "Codec",
    "CodecManager",
    "CodecStatus",
    "DecodeFn",
    "EncodeFn",
    "Threading",
    "default_manager",
    "helpers",
    "hookimpl",
]
