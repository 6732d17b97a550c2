"""The report says what check_codec tried, skipped and cross-checked."""

from __future__ import annotations

from dicomframe.codecs import rle as rle_plugin
from dicomframe.codecs.rle import RLE
from dicomframe.plugins import CodecManager
from dicomframe.testing import CodecReport, CrossCheck, Skip, Trial, check_codec


def test_a_real_report_reads_as_a_summary() -> None:
    manager = CodecManager(entry_points=False)
    manager.register(rle_plugin)
    report = check_codec(RLE, manager=manager)
    text = str(report)
    lines = text.splitlines()
    assert lines[0].startswith(f"check_codec rle: {len(report.round_trips)} round trips, ")
    assert f"    RLELossless: {len(report.round_trips)} layouts" in lines
    refused = sum(s.kind == "refused" for s in report.skipped)
    declined = sum(s.kind == "declined" for s in report.skipped)
    assert lines[lines.index("  skipped:") + 1] == f"    refused: {refused}"
    assert "EncodeError: values" in lines[lines.index("  skipped:") + 2]
    assert f"      ... and {refused - 3} more" in lines
    assert f"    declined: {declined}" in lines
    assert any(line.startswith("      rle RLELossless 7x9 64-bit") for line in lines)
    if manager.get("pylibjpeg-rle").is_available():
        pairs = report.pairs
        assert pairs[("rle", "pylibjpeg-rle", "RLELossless")] == len(report.round_trips)
        assert pairs[("pylibjpeg-rle", "rle", "RLELossless")] > 0
        assert f"    rle -> pylibjpeg-rle RLELossless: {len(report.round_trips)} decoded" in lines


def test_summary_of_each_part() -> None:
    report = CodecReport(
        "x",
        round_trips=[
            Trial("JPEG2000", "7x9 8-bit unsigned RGB planar 0", 2, psnr=41.25),
            Trial("JPEG2000", "7x9 16-bit unsigned RGB planar 0", 2, psnr=float("inf")),
            Trial("JPEG2000Lossless", "7x9 8-bit unsigned RGB planar 0", 2),
        ],
        skipped=[Skip("declined", "x JPEG2000 1x1", "too small")],
        cross_checks=[
            CrossCheck("x", "y", "JPEG2000"),
            CrossCheck("x", "y", "JPEG2000", refused="DecodeError: no"),
        ],
        notes=["x declares no psnr_floor: its lossy results held to 30 dB"],
    )
    assert str(report).splitlines() == [
        "check_codec x: 3 round trips, 0 decoded, 1 skipped, 1 cross-decoded",
        "  round trips:",
        "    JPEG2000: 2 layouts, lowest PSNR 41.2 dB",
        "    JPEG2000Lossless: 1 layouts",
        "  skipped:",
        "    declined: 1",
        "      x JPEG2000 1x1: too small",
        "  cross-checked:",
        "    x -> y JPEG2000: 1 decoded, 1 refused",
        "  notes:",
        "    x declares no psnr_floor: its lossy results held to 30 dB",
    ]
    assert report.declined == report.skipped
    assert (
        str(report.round_trips[1])
        == "JPEG2000: 7x9 16-bit unsigned RGB planar 0 (2 frames, PSNR exact)"
    )
