"""Dispatch: order, preference, blocking, fallback, and errors that explain themselves."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.core.frame_info import FrameInfo
from dicomframe.errors import DecodeError
from dicomframe.plugins import Capabilities, Codec, CodecManager
from tests.plugins.fakes import PRIVATE, ZLIB, Plugin, always_fails, zlib_encode

INFO = FrameInfo(
    rows=4,
    columns=6,
    bits_allocated=16,
    bits_stored=16,
    high_bit=15,
    transfer_syntax_uid="1.2.840.10008.1.2.1",
)


def native() -> dcf.NativeFrame:
    return dcf.NativeFrame(np.arange(24, dtype="<u2"), INFO)


def variant(name: str, **changes: object) -> Codec:
    return dataclasses.replace(ZLIB, name=name, **changes)  # type: ignore[arg-type]


def register(manager: CodecManager, *codecs: Codec) -> None:
    manager.register(Plugin(*codecs), "test-plugin")


def test_round_trip_through_the_manager(manager: CodecManager) -> None:
    register(manager, ZLIB)
    encoded = manager.encode(native(), PRIVATE.keyword)
    assert encoded.info.transfer_syntax_uid == PRIVATE.uid
    decoded = manager.decode(encoded)
    np.testing.assert_array_equal(decoded.data, native().data)
    assert decoded.info.transfer_syntax_uid == "1.2.840.10008.1.2.1"


def test_priority_then_name_order(manager: CodecManager) -> None:
    register(
        manager,
        variant("b-low", priority=0),
        variant("a-low", priority=0),
        variant("high", priority=5),
    )
    encoded = manager.encode(native(), PRIVATE.uid)
    _, used = manager.decode_with(encoded)
    assert used == "high"
    manager.block("high")
    _, used = manager.decode_with(encoded)
    assert used == "a-low"


def test_encode_priority_ranks_a_codec_among_encoders_only(manager: CodecManager) -> None:
    """A fast encoder that decodes slowly: first to encode, second to decode."""
    register(
        manager,
        variant("decoder", priority=5),
        variant("encoder", priority=3, encode_priority=8),
    )
    encoded, used = manager.encode_with(native(), PRIVATE.uid)
    assert used == "encoder"
    assert manager.decode_with(encoded)[1] == "decoder"
    assert manager.decode_with(encoded, avoid="decoder")[1] == "encoder"
    assert [s.codec.name for s in manager.order(PRIVATE, encoding=True)] == ["encoder", "decoder"]
    assert [s.codec.name for s in manager.order(PRIVATE, encoding=False)] == ["decoder", "encoder"]
    assert manager.encode_with(native(), PRIVATE.uid, prefer=["decoder"])[1] == "decoder"


def test_without_encode_priority_priority_ranks_both_directions() -> None:
    assert variant("plain", priority=4).ranked(encoding=True) == 4
    assert variant("plain", priority=4).ranked(encoding=False) == 4
    assert variant("split", priority=4, encode_priority=-2).ranked(encoding=True) == -2
    assert variant("split", priority=4, encode_priority=-2).ranked(encoding=False) == 4


def test_per_call_prefer_and_codec_and_block(manager: CodecManager) -> None:
    register(manager, variant("one", priority=5), variant("two"))
    encoded = manager.encode(native(), PRIVATE.uid)
    assert manager.decode_with(encoded, prefer=["two"])[1] == "two"
    assert manager.decode_with(encoded, codec="two")[1] == "two"
    assert manager.decode_with(encoded, block=["one"])[1] == "two"
    manager.prefer("two")
    assert manager.decode_with(encoded)[1] == "two"


def test_fallback_on_failure_and_sticky_warning(manager: CodecManager) -> None:
    register(manager, variant("broken", decode=always_fails, priority=9), variant("works"))
    encoded = manager.encode(native(), PRIVATE.uid, codec="works")
    frame, used = manager.decode_with(encoded)
    assert used == "works"
    np.testing.assert_array_equal(frame.data, native().data)
    with pytest.warns(dcf.DicomWarning, match="earlier frames"):
        manager.decode_with(encoded, sticky="broken")


class Panic(BaseException):
    """What a Rust backend raises when it panics (pyo3's PanicException is a BaseException)."""


def panics(frame: dcf.EncapsulatedFrame, /, **options: object) -> dcf.NativeFrame:
    raise Panic("index out of bounds: the len is 8192 but the index is 8193")


def interrupted(frame: dcf.EncapsulatedFrame, /, **options: object) -> dcf.NativeFrame:
    raise KeyboardInterrupt


def test_a_backend_panic_is_that_codec_failing(manager: CodecManager) -> None:
    register(manager, variant("panics", decode=panics, priority=9), variant("works"))
    encoded = manager.encode(native(), PRIVATE.uid, codec="works")
    frame, used = manager.decode_with(encoded)
    assert used == "works"
    np.testing.assert_array_equal(frame.data, native().data)
    with pytest.raises(dcf.NoCodecError, match="Panic: index out of bounds") as caught:
        manager.decode(encoded, codec="panics")
    assert [a.outcome for a in caught.value.attempts] == ["failed"]


def test_an_interrupt_is_not_a_codec_failure(manager: CodecManager) -> None:
    register(manager, variant("interrupted", decode=interrupted, priority=9), variant("works"))
    encoded = manager.encode(native(), PRIVATE.uid, codec="works")
    with pytest.raises(KeyboardInterrupt):
        manager.decode(encoded)


def test_no_codec_error_lists_every_attempt(manager: CodecManager) -> None:
    register(
        manager,
        variant("missing", modules=("no_such_backend_xyz",), requires=("no-such-backend>=1",)),
        variant("too-narrow", decode_caps=Capabilities(bits_allocated=frozenset({8}))),
        variant("broken", decode=always_fails),
        variant("blocked-one"),
    )
    manager.block("blocked-one")
    encoded = zlib_encode(native(), PRIVATE)
    with pytest.raises(dcf.NoCodecError) as info:
        manager.decode(encoded)
    error = info.value
    outcomes = {a.codec: a.outcome for a in error.attempts}
    assert outcomes == {
        "missing": "unavailable",
        "too-narrow": "declined",
        "broken": "failed",
        "blocked-one": "blocked",
    }
    text = str(error)
    assert "ExampleZlibFrames" in text
    assert "6x4, 1 sample, 16 bits" in text
    assert 'pip install "no-such-backend>=1"' in text
    assert "Bits Allocated 16 not in [8]" in text
    assert "install one of: no-such-backend>=1" in text
    assert isinstance(error.__cause__, dcf.DecodeError)


def test_named_codec_that_is_not_installed(manager: CodecManager) -> None:
    register(manager, variant("missing", modules=("no_such_backend_xyz",), requires=("nsb",)))
    with pytest.raises(ImportError, match="nsb") as info:
        manager.decode(zlib_encode(native(), PRIVATE), codec="missing")
    assert isinstance(info.value, dcf.CodecError)


def test_no_codec_claims_the_syntax(manager: CodecManager) -> None:
    frame = dcf.EncapsulatedFrame(
        [b"\0\0"], INFO.replace(transfer_syntax_uid="1.2.840.10008.1.2.4.100")
    )
    with pytest.raises(dcf.NoCodecError, match="no installed codec handles MPEG2MPML"):
        manager.decode(frame)


def test_codec_returning_garbage_is_blamed(manager: CodecManager) -> None:
    register(manager, variant("liar", decode=lambda frame, **o: "not a frame"))
    with pytest.raises(dcf.NoCodecError, match="liar  failed       returned str") as caught:
        manager.decode(zlib_encode(native(), PRIVATE))
    [attempt] = caught.value.attempts
    assert (attempt.outcome, attempt.invalid_result) == ("failed", True)
    assert isinstance(attempt.error, dcf.DecodeError)
    assert attempt.error.codec == "liar"
    assert caught.value.__cause__ is attempt.error


def returns_none(frame: dcf.EncapsulatedFrame, /, **options: object) -> None:
    return None


def wrong_size(frame: dcf.EncapsulatedFrame, /, **options: object) -> dcf.NativeFrame:
    info = frame.info.replace(rows=2, transfer_syntax_uid="1.2.840.10008.1.2.1")
    return dcf.NativeFrame(np.zeros(info.values_per_frame, info.dtype), info)


def test_a_codec_returning_none_fails_and_the_next_one_decodes(manager: CodecManager) -> None:
    register(manager, variant("none", decode=returns_none, priority=9), variant("works"))
    encoded = zlib_encode(native(), PRIVATE)
    frame, used = manager.decode_with(encoded)
    assert used == "works"
    np.testing.assert_array_equal(frame.data, native().data)
    with pytest.raises(dcf.NoCodecError) as caught:
        manager.decode(encoded, codec="none")
    [attempt] = caught.value.attempts
    assert (attempt.codec, attempt.outcome) == ("none", "failed")
    assert attempt.reason == "returned NoneType, not a NativeFrame"
    assert "succeeded" not in str(caught.value)


def test_a_frame_of_another_size_is_not_a_valid_result(manager: CodecManager) -> None:
    register(manager, variant("resizes", decode=wrong_size, priority=9), variant("works"))
    encoded = zlib_encode(native(), PRIVATE)
    assert manager.decode_with(encoded)[1] == "works"
    with pytest.raises(dcf.NoCodecError, match="returned a 6x2 frame of 1 samples; the dataset"):
        manager.decode(encoded, codec="resizes")


def test_an_encoder_returning_none_fails_and_the_next_one_encodes(manager: CodecManager) -> None:
    def encodes_nothing(frame: dcf.NativeFrame, syntax: object, /, **options: object) -> None:
        return None

    register(manager, variant("none", encode=encodes_nothing, priority=9), variant("works"))
    encoded, used = manager.encode_with(native(), PRIVATE)
    assert used == "works"
    assert isinstance(encoded, dcf.EncapsulatedFrame)
    with pytest.raises(dcf.NoCodecError) as caught:
        manager.encode(native(), PRIVATE, codec="none")
    [attempt] = caught.value.attempts
    assert attempt.reason == "returned NoneType, not an EncapsulatedFrame"
    assert isinstance(attempt.error, dcf.EncodeError)


def test_the_cause_is_the_first_codec_that_raised(manager: CodecManager) -> None:
    def fails_too(frame: dcf.EncapsulatedFrame, /, **options: object) -> dcf.NativeFrame:
        raise DecodeError("second opinion")

    register(
        manager,
        variant("none", decode=returns_none, priority=9),
        variant("broken", decode=always_fails, priority=5),
        variant("also-broken", decode=fails_too, priority=1),
        variant("narrow", decode_caps=Capabilities(bits_allocated=frozenset({8}))),
    )
    with pytest.raises(dcf.NoCodecError) as caught:
        manager.decode(zlib_encode(native(), PRIVATE))
    outcomes = [(a.codec, a.outcome) for a in caught.value.attempts]
    assert outcomes == [
        ("none", "failed"),
        ("broken", "failed"),
        ("also-broken", "failed"),
        ("narrow", "declined"),
    ]
    # A codec's own exception beats an invalid result ahead of it and failures after it.
    assert caught.value.__cause__ is caught.value.attempts[1].error
    assert str(caught.value.__cause__) == "this backend rejects every stream"


def test_an_invalid_result_is_the_cause_when_no_codec_raised(manager: CodecManager) -> None:
    register(
        manager,
        variant("none", decode=returns_none, priority=9),
        variant("narrow", decode_caps=Capabilities(bits_allocated=frozenset({8}))),
    )
    with pytest.raises(dcf.NoCodecError) as caught:
        manager.decode(zlib_encode(native(), PRIVATE))
    assert caught.value.__cause__ is caught.value.attempts[0].error


def test_plugin_returning_garbage_is_reported_not_fatal(manager: CodecManager) -> None:
    class Bad:
        from dicomframe.plugins import hookimpl

        @hookimpl
        def dicomframe_codecs(self) -> object:
            return "nonsense"

    manager.register(Bad(), "bad-plugin")
    register(manager, ZLIB)
    names = [s.name for s in manager.codecs()]
    assert names == ["zlib-frames"]
    assert any(p.plugin == "bad-plugin" for p in manager.problems)


def test_duplicate_codec_names_are_reported(manager: CodecManager) -> None:
    manager.register(Plugin(ZLIB), "first")
    manager.register(Plugin(ZLIB), "second")
    assert [s.plugin for s in manager.codecs()] == ["first"]
    assert any("already provided" in str(p) for p in manager.problems)


def test_listing_reports_availability(manager: CodecManager) -> None:
    register(
        manager, ZLIB, variant("missing", modules=("no_such_backend_xyz",), requires=("nsb>=2",))
    )
    manager.block("zlib-frames")
    rows = {s.name: s for s in manager.codecs()}
    assert rows["zlib-frames"].reason == "blocked"
    assert not rows["missing"].available
    assert rows["missing"].reason == 'pip install "nsb>=2"'


def test_environment_blocks_on_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DICOMFRAME_BLOCK", "rle, pillow")
    monkeypatch.setenv("DICOMFRAME_PLUGINS", "rle")
    manager = CodecManager()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = manager.codecs()
    assert all(r.plugin == "rle" for r in rows)
    assert all(not r.available and r.reason == "blocked" for r in rows if r.name == "rle")


def test_import_does_not_load_plugins() -> None:
    import subprocess
    import sys

    code = (
        "import sys, dicomframe as dcf\n"
        "dcf.read('testdata/ct_explicit_le.dcm').pixel_array\n"
        "heavy = [m for m in ('pluggy', 'PIL', 'openjpeg', 'libjpeg', 'imagecodecs', 'jpeg_ls', "
        "'dicomframe.codecs.rle') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
