"""The manager: failures are visible, names are owned, choices are checked, syntaxes per manager.

Plugins come from real distributions (modules and a ``.dist-info`` with
entry points on ``sys.path``, see :mod:`tests.plugins.distributions`),
prepended to ``sys.path`` so that they are enumerated before dicomframe's
own entry points.
"""

from __future__ import annotations

import dataclasses
import sys
import warnings

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.core.frame_info import FrameInfo
from dicomframe.plugins import Codec, CodecManager
from tests.plugins.distributions import Installer
from tests.plugins.fakes import PRIVATE, ZLIB, Plugin, zlib_encode
from tests.reference import TESTDATA

INFO = FrameInfo(rows=4, columns=6, bits_allocated=16, bits_stored=16, high_bit=15)


def encoded() -> dcf.EncapsulatedFrame:
    info = INFO.replace(transfer_syntax_uid="1.2.840.10008.1.2.1")
    return zlib_encode(dcf.NativeFrame(np.arange(24, dtype="<u2"), info), PRIVATE)


def rle_frame() -> dcf.EncapsulatedFrame:
    frame = dcf.read(TESTDATA / "rle_multiframe.dcm").pixel_data[0]
    assert isinstance(frame, dcf.EncapsulatedFrame)
    return frame


def variant(name: str, **changes: object) -> Codec:
    return dataclasses.replace(ZLIB, name=name, **changes)  # type: ignore[arg-type]


def only_warning(caught: list[warnings.WarningMessage]) -> dcf.PluginWarning:
    assert len(caught) == 1, [str(w.message) for w in caught]
    message = caught[0].message
    assert isinstance(message, dcf.PluginWarning)
    return message


# -- a plugin that fails to load --------------------------------------------------------------
def test_a_plugin_that_fails_to_load_warns_once_naming_it_and_its_distribution(
    installer: Installer,
) -> None:
    installer.install("broken-plugin", "0.1", {}, {"broken": "no_such_module_here"})
    manager = CodecManager()
    assert "rle" in {row.name for row in manager.codecs()}  # listing shows, never warns
    (problem,) = manager.problems
    assert isinstance(problem.__cause__, ModuleNotFoundError)
    with pytest.warns(dcf.PluginWarning) as caught:
        manager.decode(rle_frame())
    warning = only_warning(caught.list)
    assert "plugin 'broken' (broken-plugin 0.1)" in str(warning)
    assert "ModuleNotFoundError" in str(warning)
    assert "no_such_module_here" in str(warning)
    assert vars(warning)["error"] is problem.__cause__
    assert warning.__cause__ is problem.__cause__
    manager.decode(rle_frame())  # once: the filter turns any further warning into an error


def test_load_warns_too(installer: Installer) -> None:
    installer.install("broken-plugin", "0.1", {}, {"broken": "no_such_module_here"})
    with pytest.warns(dcf.PluginWarning, match="broken-plugin 0.1"):
        CodecManager().load()


# -- a codec whose backend cannot be used ----------------------------------------------------
BROKEN_BACKEND = 'raise ImportError("libacme.so.3: cannot open shared object file")\n'


def test_a_backend_that_fails_to_import_is_unavailable_and_warned_about(
    installer: Installer, manager: CodecManager
) -> None:
    installer.install("acme-backend", "1.0", {"acme_backend": BROKEN_BACKEND})
    manager.register(Plugin(variant("acme-fast", modules=("acme_backend",), priority=10), ZLIB))
    row = {r.name: r for r in manager.codecs()}["acme-fast"]
    assert row.available  # installed: find_spec cannot tell, and listing imports nothing
    with pytest.warns(dcf.PluginWarning) as caught:
        _, used = manager.decode_with(encoded())
    assert used == "zlib-frames"  # acme-fast would have decoded it: its decode imports nothing
    warning = only_warning(caught.list)
    assert "codec 'acme-fast' cannot be used: backend 'acme_backend' failed to import" in str(
        warning
    )
    assert isinstance(vars(warning)["error"], ImportError)
    assert "libacme.so.3" in str(vars(warning)["error"])
    row = {r.name: r for r in manager.codecs()}["acme-fast"]
    assert not row.available
    assert "failed to import: ImportError: libacme.so.3" in row.reason
    assert manager.decode_with(encoded())[1] == "zlib-frames"  # no second warning


def test_no_codec_error_chains_the_backend_that_failed_to_import(
    installer: Installer, manager: CodecManager
) -> None:
    installer.install("acme-backend", "1.0", {"acme_backend": BROKEN_BACKEND})
    manager.register(Plugin(variant("acme-fast", modules=("acme_backend",))))
    with pytest.warns(dcf.PluginWarning), pytest.raises(dcf.NoCodecError) as caught:
        manager.decode(encoded())
    (attempt,) = caught.value.attempts
    assert (attempt.codec, attempt.outcome) == ("acme-fast", "unavailable")
    assert "failed to import" in attempt.reason
    assert isinstance(caught.value.__cause__, ImportError)
    assert caught.value.__cause__ is attempt.error


def test_naming_a_codec_whose_backend_fails_raises_unavailable_chained(
    installer: Installer, manager: CodecManager
) -> None:
    installer.install("acme-backend", "1.0", {"acme_backend": BROKEN_BACKEND})
    manager.register(Plugin(variant("acme-fast", modules=("acme_backend",)), ZLIB))
    with pytest.warns(dcf.PluginWarning), pytest.raises(dcf.CodecUnavailableError) as caught:
        manager.decode(encoded(), codec="acme-fast")
    assert "failed to import" in str(caught.value)
    assert isinstance(caught.value.__cause__, ImportError)


def test_a_backend_older_than_required_is_unavailable(
    installer: Installer, manager: CodecManager
) -> None:
    installer.install("acme-old", "1.4", {"acme_old": "VERSION = '1.4'\n"})
    old = variant("acme-old", modules=("acme_old",), requires=("acme-old>=2.0",), priority=10)
    manager.register(Plugin(old, ZLIB))
    with pytest.warns(dcf.PluginWarning) as caught:
        _, used = manager.decode_with(encoded())
    assert used == "zlib-frames"
    text = str(only_warning(caught.list))
    assert "acme-old 1.4 is installed" in text
    assert 'pip install --upgrade "acme-old>=2.0"' in text
    assert isinstance(vars(caught.list[0].message)["error"], dcf.CodecUnavailableError)


def test_check_imports_every_backend_and_lists_without_warning(
    installer: Installer, manager: CodecManager
) -> None:
    installer.install("acme-backend", "1.0", {"acme_backend": BROKEN_BACKEND})
    manager.register(Plugin(variant("acme-fast", modules=("acme_backend",)), ZLIB))
    assert manager.problems == []
    (problem,) = manager.check()
    assert "codec 'acme-fast' cannot be used" in str(problem)
    assert "(registered directly)" in str(problem)
    assert isinstance(problem.__cause__, ImportError)
    with pytest.warns(dcf.PluginWarning):  # found by check(), told at the first use
        manager.decode(encoded())


# -- names are owned ----------------------------------------------------------------------
RIVAL = """
from dicomframe.codecs.rle import RLE
from dicomframe.plugins import hookimpl

CALLS = []


def decode(frame, /, **options):
    CALLS.append(frame.index)
    raise ValueError("the rival only counts calls")


@hookimpl
def dicomframe_codecs():
    return [RLE.__class__(name="rle", transfer_syntaxes=RLE.transfer_syntaxes, decode=decode,
                          priority=100)]
"""


def test_a_third_party_codec_cannot_take_a_builtin_name(installer: Installer) -> None:
    installer.install("acme-rival", "2.0", {"acme_rival": RIVAL}, {"acme-rival": "acme_rival"})
    manager = CodecManager()
    rows = {row.name: row for row in manager.codecs()}
    assert (rows["rle"].plugin, rows["rle"].distribution) == ("rle", "dicomframe")
    with pytest.warns(dcf.PluginWarning) as caught:
        _, used = manager.decode_with(rle_frame(), codec="rle")
    assert used == "rle"
    import acme_rival  # type: ignore[import-not-found]

    assert acme_rival.CALLS == []
    text = str(only_warning(caught.list))
    assert text.startswith("plugin 'acme-rival' (acme-rival 2.0): codec 'rle' is refused")
    assert "plugin 'rle' (dicomframe " in text  # the owner, and its distribution
    assert vars(caught.list[0].message)["plugin"] == "acme-rival"


def test_a_third_party_entry_point_cannot_take_a_builtin_plugin_name(
    installer: Installer,
) -> None:
    installer.install("acme-rival", "2.0", {"acme_rival": RIVAL}, {"rle": "acme_rival"})
    manager = CodecManager()
    assert {row.plugin for row in manager.codecs() if row.name == "rle"} == {"rle"}
    (problem,) = manager.problems
    assert str(problem).startswith("plugin 'rle' (acme-rival 2.0): the plugin name 'rle'")
    assert "taken by plugin 'rle' (dicomframe " in str(problem)
    assert "acme_rival" not in sys.modules  # refused before it was imported


def test_builtins_load_first_whatever_the_path_order(installer: Installer) -> None:
    installer.install("aaa-codecs", "1.0", {"aaa_codecs": RIVAL}, {"aaa": "aaa_codecs"})
    plugins = [row.plugin for row in CodecManager().codecs() if row.name == "rle"]
    assert plugins == ["rle"]


# -- names are checked -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.prefer("zlib-frame"),
        lambda m: m.block("zlib_frames"),
        lambda m: m.choose(decoder="zlib-framez"),
        lambda m: m.get("zlibframes"),
        lambda m: m.decode(encoded(), codec="zlib-frame"),
        lambda m: m.decode(encoded(), prefer=["zlib-frame"]),
        lambda m: m.decode(encoded(), block=["zlib-frame"]),
    ],
    ids=["prefer", "block", "choose", "get", "codec=", "prefer=", "block="],
)
def test_an_unknown_name_raises_with_the_close_ones(manager: CodecManager, call: object) -> None:
    manager.register(Plugin(ZLIB), "test-plugin")
    with pytest.raises(dcf.NoCodecError, match=r"named '[^']+'; did you mean zlib-frames\?"):
        call(manager)  # type: ignore[operator]


def test_block_takes_plugin_names_and_an_unknown_name_lists_every_name(
    manager: CodecManager,
) -> None:
    manager.register(Plugin(ZLIB), "test-plugin")
    manager.block("test-plugin")
    with pytest.raises(dcf.NoCodecError, match="known: test-plugin, zlib-frames"):
        manager.block("nothing-like-it")


# -- choosing --------------------------------------------------------------------------------
def test_choose_decodes_and_encodes_with_only_the_chosen_codecs(manager: CodecManager) -> None:
    manager.register(Plugin(ZLIB, variant("zlib-alt", priority=5)))
    assert manager.decode_with(encoded())[1] == "zlib-alt"
    manager.choose(decoder="zlib-frames")
    assert manager.decode_with(encoded())[1] == "zlib-frames"
    assert manager.decode_with(encoded(), codec="zlib-alt")[1] == "zlib-alt"  # a call still wins
    native = manager.decode(encoded())
    assert manager.encode_with(native, PRIVATE)[1] == "zlib-alt"  # encoding is not chosen
    manager.choose(encoder="zlib-frames")
    assert manager.encode_with(native, PRIVATE)[1] == "zlib-frames"
    assert manager.decode_with(encoded())[1] == "zlib-alt"  # choose() sets both
    assert [row.name for row in manager.order(PRIVATE.uid, encoding=True)] == ["zlib-frames"]
    manager.choose()
    assert manager.encode_with(native, PRIVATE)[1] == "zlib-alt"


def test_a_chosen_codec_that_does_not_handle_the_syntax_says_which_do(
    manager: CodecManager,
) -> None:
    from dicomframe.codecs import rle

    manager.register(Plugin(ZLIB))
    manager.register(rle, "rle")
    manager.choose(decoder="zlib-frames")
    with pytest.raises(dcf.NoCodecError, match="codec 'zlib-frames' does not decode RLELossless"):
        manager.decode(rle_frame())
    with pytest.raises(dcf.NoCodecError, match="codecs that do: pylibjpeg-rle, rle"):
        manager.decode(rle_frame())


def test_order_is_the_dispatch_order(manager: CodecManager) -> None:
    manager.register(Plugin(variant("b-low"), variant("a-low"), variant("high", priority=5), ZLIB))
    assert [r.name for r in manager.order(PRIVATE.keyword)] == [
        "high",
        "a-low",
        "b-low",
        "zlib-frames",
    ]
    manager.prefer("b-low")
    manager.block("high")
    rows = manager.order(PRIVATE.uid)
    assert [r.name for r in rows] == ["b-low", "high", "a-low", "zlib-frames"]
    assert [r.available for r in rows] == [True, False, True, True]
    assert rows[1].reason == "blocked"


def test_backend_versions_are_the_backends_not_the_plugins(installer: Installer) -> None:
    installer.install("acme-old", "1.4", {"acme_old": ""})
    row = {r.name: r for r in CodecManager().codecs()}
    assert row["rle"].version == dcf.__version__  # the plugin's distribution: dicomframe
    assert row["rle"].backends == [("numpy", np.__version__)]
    assert row["deflate"].backends[0][0] == "Python"
    old = variant("acme-old", modules=("acme_old",), requires=("acme-old>=2.0", "nowhere-xyz"))
    status = CodecManager(entry_points=False)
    status.register(Plugin(old))
    assert status.codecs()[0].backends == [("acme-old", "1.4"), ("nowhere-xyz", None)]


# -- transfer syntaxes per manager -----------------------------------------------------------
PRIVATE_PLUGIN = """
from dicomframe.core.transfer_syntax import TransferSyntax
from dicomframe.plugins import hookimpl

SYNTAX = TransferSyntax("1.2.826.0.1.3680043.10.1234.99", "AcmeManagerFrames",
                        is_encapsulated=True)


@hookimpl
def dicomframe_codecs():
    return []


@hookimpl
def dicomframe_transfer_syntaxes():
    return [SYNTAX]
"""


def test_transfer_syntax_is_standard_or_this_managers_own(installer: Installer) -> None:
    installer.install(
        "acme-private", "1.0", {"acme_private": PRIVATE_PLUGIN}, {"ap": "acme_private"}
    )
    manager = CodecManager()
    assert manager.transfer_syntax("1.2.840.10008.1.2.4.90") == dcf.TransferSyntax.resolve(
        "JPEG2000Lossless"
    )
    assert "acme_private" not in sys.modules  # a standard syntax loads no plugin
    private = manager.transfer_syntax("1.2.826.0.1.3680043.10.1234.99\x00")
    assert private is not None
    assert private.keyword == "AcmeManagerFrames"
    assert manager.transfer_syntax("1.2.3.4.5") is None
    # Registered process-wide for now, but another manager's plugins do not declare it.
    assert dcf.TransferSyntax.resolve("AcmeManagerFrames") == private
    assert CodecManager(entry_points=False).transfer_syntax(private.uid) is None
