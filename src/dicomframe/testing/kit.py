"""``check_codec``: the conformance run, layout by layout and codec by codec.

For every transfer syntax the codec encodes, every layout its encode
Capabilities admit is encoded, decoded by the codec (plainly and into
``out=`` buffers), and read by every other installed codec of the syntax.
For every syntax it decodes, every other installed encoder of the syntax
encodes the layouts its decode Capabilities admit, and the codec reads
them. A decode-only codec is therefore exercised as fully as one that
encodes, as long as something installed writes its syntax.

Bits above Bits Stored: an encoder that refuses them (EncodeError) is
honoured, and then its decoder is still made to meet them: the dirty frame
is encoded as all Bits Allocated bits and read back as Bits Stored, the
stream a DICOM file with garbage in the unused bits holds (PS3.5 8.1.1).
This is done only where the stream does not record a precision of its own
(RLE, deflate, uncompressed, private containers): a JPEG-family codestream
of 16-bit values read as 12 bits contradicts itself, and is no stream an
encoder writes.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.transfer_syntax import TransferSyntax
from dicomframe.errors import EncodeError
from dicomframe.plugins.codestream import header
from dicomframe.plugins.manager import default_manager
from dicomframe.testing.layouts import Layout, describe, layouts
from dicomframe.testing.pixels import clean
from dicomframe.testing.report import CodecReport, CrossCheck, Trial
from dicomframe.testing.trials import Decoded, Expected, Runner, fail

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dicomframe.plugins.codec import Capabilities, Codec
    from dicomframe.plugins.manager import CodecManager

__all__ = ["check_codec"]

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def check_codec(
    codec: Codec,
    *,
    manager: CodecManager | None = None,
    samples: Sequence[EncapsulatedFrame] = (),
    options: dict[str, Any] | None = None,
) -> CodecReport:
    """Check ``codec`` against the codec contract; raise AssertionError on the first breach.

    Parameters
    ----------
    codec
        The codec to check; its backend must be installed.
    manager
        Where the other installed codecs of its syntaxes come from, for the
        interoperability checks (the default manager when None).
    samples
        Encoded frames for it to decode, compared with every other installed
        decoder's reading of them.
    options
        Keyword options for its ``encode``.

    Returns
    -------
    CodecReport
        What was tried, skipped (and why) and cross-checked.

    Raises
    ------
    AssertionError
        Naming the codec, syntax and layout, and what was wrong.
    """
    manager = manager if manager is not None else default_manager()
    _check_facts(codec)
    if not codec.is_available():
        raise AssertionError(f"{codec.name}: backend not installed ({codec.install_hint()})")
    peers = [s.codec for s in manager.codecs() if s.available and s.name != codec.name]
    runner = Runner(codec, peers, dict(options or {}), manager)
    syntaxes = [_resolve(uid, codec, runner) for uid in sorted(codec.transfer_syntaxes)]
    for index, sample in enumerate(samples):
        _check_sample(runner, sample, f"{codec.name} sample {index} ({sample!r})")
    encodes = [s for s in syntaxes if codec.handles(s.uid, encoding=True)]
    decodes = [s for s in syntaxes if codec.handles(s.uid, encoding=False)]
    encoding = _layouts(runner, codec.encode_caps) if encodes else None
    for syntax in encodes:
        for layout in encoding or ():
            _round_trip(runner, syntax, layout)
    decoding = _layouts(runner, codec.decode_caps) if decodes else None
    for syntax in decodes:
        for peer in runner.encoders(syntax):
            for layout in _peer_layouts(codec.decode_caps, peer):
                _read_theirs(runner, peer, syntax, layout)
    _check_exercised(runner, encoding, decoding)
    return runner.report


# -- facts -------------------------------------------------------------------------------------
def _check_facts(codec: Codec) -> None:
    if not codec.name or set(codec.name) - _NAME_CHARS:
        raise AssertionError(f"codec name {codec.name!r} must be kebab-case: a-z, 0-9 and -")
    if codec.decode is None and codec.encode is None:
        raise AssertionError(f"{codec.name}: neither decodes nor encodes")
    if not codec.transfer_syntaxes:
        raise AssertionError(f"{codec.name}: handles no transfer syntax")


def _resolve(uid: str, codec: Codec, runner: Runner) -> TransferSyntax:
    """A syntax of the standard, or a private one a plugin declares."""
    try:
        return runner.syntax(uid)
    except AssertionError:
        raise AssertionError(
            f"{codec.name}: transfer syntax {uid} is not known; a private syntax must be "
            "returned by the plugin's dicomframe_transfer_syntaxes hook"
        ) from None


def _layouts(runner: Runner, caps: Capabilities) -> list[Layout]:
    found, notes = layouts(caps)
    for note in notes:
        runner.skip("not built", runner.codec.name, note)
    return found


def _peer_layouts(caps: Capabilities, peer: Codec) -> list[Layout]:
    """The layouts to have ``peer`` encode: ours, at least as large as it accepts."""
    size = max(caps.min_size, peer.encode_caps.min_size)
    return layouts(dataclasses.replace(caps, min_size=size))[0]


# -- the codec's own streams ---------------------------------------------------------------------
def _round_trip(runner: Runner, syntax: TransferSyntax, layout: Layout) -> None:
    """Encode two frames of ``layout``, then have them decoded by the codec and the others."""
    codec = runner.codec
    what = f"{codec.name} {syntax.keyword} {layout}"
    reason = codec.why_not(layout.info, encoding=True, syntax=syntax)
    if reason is not None:
        runner.skip("declined", what, reason)
        return
    sources = runner.sources(layout, syntax)
    refusal = runner.encode_one(codec, sources[0], syntax, what)
    if isinstance(refusal, EncodeError) and layout.dirty:
        runner.skip("refused", what, f"EncodeError: {refusal} (encoded again with them cleared)")
        _dirty_stream(runner, syntax, layout, sources[0], what)
        layout = Layout(layout.info)
        sources = [clean(s) for s in sources]
        what = f"{codec.name} {syntax.keyword} {layout}"
    encoded = runner.encode_all(sources, syntax, what)
    if encoded is not None:
        _verify(runner, syntax, layout, encoded, sources)


def _verify(
    runner: Runner,
    syntax: TransferSyntax,
    layout: Layout,
    encoded: list[EncapsulatedFrame],
    sources: list[NativeFrame],
) -> None:
    """Have the codec's stream decoded by itself and by every other decoder of the syntax."""
    codec = runner.codec
    what = f"{codec.name} {syntax.keyword} {layout}"
    floor = runner.floor(codec, syntax)
    own = _own_decoding(runner, encoded, sources, what, floor)
    expected = Expected(sources[0], floor, own.frame if floor is not None else None)
    others = [
        runner.peer_decode(peer, encoded[0], expected, what, codec.name)
        for peer in runner.decoders(syntax)
    ]
    read = [d for d in others if d is not None and d.frame is not None]
    if own.frame is None:
        if not read and own.refused and own.refused.startswith("DecodeError"):
            fail(what, f"it refused its own stream ({own.refused}) and no other codec reads it")
        if not read:
            runner.skip("unverified", what, f"no installed codec decodes it ({own.refused})")
            return
        runner.skip("refused", f"{what}, decoding its own stream", own.refused or "")
    runner.encodes_verified += 1
    qualities = [d.psnr for d in (own, *read) if d.frame is not None and d.psnr is not None]
    psnr = min(qualities) if syntax.is_lossy and qualities else None
    runner.report.round_trips.append(
        Trial(syntax.keyword, str(layout), len(sources), psnr, layout.info)
    )


def _own_decoding(
    runner: Runner,
    encoded: list[EncapsulatedFrame],
    sources: list[NativeFrame],
    what: str,
    floor: float | None,
) -> Decoded:
    codec = runner.codec
    if codec.decode is None:
        return Decoded(refused="it does not decode")
    reason = codec.why_not(encoded[0].info)
    if reason is not None:
        return Decoded(refused=f"its decoder declines: {reason}")
    return runner.decode_frames(encoded, [Expected(s, floor) for s in sources], what)


def _dirty_stream(
    runner: Runner, syntax: TransferSyntax, layout: Layout, source: NativeFrame, what: str
) -> None:
    """Read a stream holding bits above Bits Stored (module docstring)."""
    codec, info = runner.codec, layout.info
    full = info.replace(bits_stored=info.bits_allocated, high_bit=info.bits_allocated - 1)
    if syntax.is_lossy or codec.decode is None or codec.why_not(info) is not None:
        return
    if codec.why_not(full, encoding=True, syntax=syntax) is not None:
        return
    what = f"{what}, all {info.bits_allocated} bits encoded, read as Bits Stored {info.bits_stored}"
    made = runner.encode_all([NativeFrame(source.data, full)], syntax, what)
    if made is None:
        return
    encoded = made[0]
    precision = _recorded_precision(syntax, encoded)
    if precision is not None:
        runner.skip("not built", what, f"the codestream records its own precision ({precision})")
        return
    relabelled = EncapsulatedFrame(
        encoded.fragments,
        encoded.info.replace(bits_stored=info.bits_stored, high_bit=info.high_bit),
    )
    decoded = runner.decode_one(relabelled, Expected(source), what)
    if decoded.frame is None:
        runner.skip("refused", what, decoded.refused or "")
        return
    runner.decodes_verified += 1
    label = f"{layout}, all {info.bits_allocated} bits encoded"
    runner.report.decoded.append(Trial(syntax.keyword, label, 1, info=info))


def _recorded_precision(syntax: TransferSyntax, frame: EncapsulatedFrame) -> int | None:
    try:
        found = header(syntax.uid, frame.data)
    except ValueError:
        return None
    precision = getattr(found, "precision", None)
    return precision if isinstance(precision, int) else None


# -- other codecs' streams -----------------------------------------------------------------------
def _read_theirs(runner: Runner, peer: Codec, syntax: TransferSyntax, layout: Layout) -> None:
    """Have ``peer`` encode ``layout`` and the codec decode it."""
    codec = runner.codec
    if peer.why_not(layout.info, encoding=True, syntax=syntax) is not None:
        return
    sources = runner.sources(layout, syntax)
    made = runner.peer_encode(peer, sources, syntax)
    if made is None:
        return
    encoded, used = made
    if used is not sources:  # it refused the bits above Bits Stored: they were cleared
        layout, sources = Layout(layout.info), used
    what = f"{codec.name} reading {peer.name}'s {syntax.keyword} {layout}"
    reason = codec.why_not(encoded[0].info)
    if reason is not None:
        runner.skip("declined", what, reason)
        return
    floor = runner.floor(peer, syntax)
    expected = [
        Expected(s, floor, runner.reading(peer, e) if floor is not None else None)
        for s, e in zip(sources, encoded, strict=True)
    ]
    decoded = runner.decode_frames(encoded, expected, what)
    runner.report.cross_checks.append(
        CrossCheck(peer.name, codec.name, syntax.keyword, decoded.refused)
    )


def _check_sample(runner: Runner, sample: EncapsulatedFrame, what: str) -> None:
    """Decode an author's sample, and compare with every other decoder's reading of it."""
    result = runner.decode_sample(sample, what)
    syntax = runner.syntax(sample.info.transfer_syntax_uid)
    floor = runner.floor(runner.codec, syntax)
    read = [
        runner.peer_decode(peer, sample, Expected(result, floor), what, "sample")
        for peer in runner.decoders(syntax)
    ]
    qualities = [d.psnr for d in read if d is not None and d.psnr is not None]
    psnr = min(qualities) if qualities else None
    runner.report.decoded.append(Trial(syntax.keyword, describe(sample.info), 1, psnr, sample.info))


# -- nothing exercised ---------------------------------------------------------------------------
def _check_exercised(
    runner: Runner, encoding: list[Layout] | None, decoding: list[Layout] | None
) -> None:
    """Fail when a direction the codec has was never verified, and say why.

    ``encoding``/``decoding`` are the layouts built for that direction, None
    when the codec does not encode (decode) any of its syntaxes.
    """
    codec, problems = runner.codec, []
    if encoding is not None and not runner.encodes_verified:
        reason = _why(runner, encoding, codec.encode_caps, "encode")
        problems.append(f"nothing it encoded was verified: {reason}")
    if decoding is not None and not runner.decodes_verified:
        reason = _why(runner, decoding, codec.decode_caps, "decode")
        problems.append(f"nothing it decoded was verified: {reason}")
    if problems:
        raise AssertionError(f"{codec.name}: no layout was exercised; " + "; ".join(problems))


def _why(runner: Runner, built: list[Layout], caps: Capabilities, direction: str) -> str:
    if not built:
        return f"its {direction} capabilities admit nothing ({caps})"
    skipped = runner.report.skipped
    if skipped:
        return f"{len(skipped)} layouts were skipped, e.g. {skipped[0]}"
    if direction == "decode":
        return "no other installed codec encodes its syntaxes, and it encodes none"
    return "no installed codec decodes what it encodes"
