"""Codec benchmarks: decode speed per backend, and whether it releases the GIL.

Run:  python benchmarks/bench_codecs.py [--frames 16] [--size 512]

For every available codec that can both encode and decode some syntax, a
batch of frames (monochrome uint16 where the codec accepts it, else uint8)
is encoded once, then decoded on 1 thread and on 2 threads. A speed-up near
2x on this 2-core machine means the backend releases the GIL while it works,
so ``pixel_array(workers=...)`` decodes in parallel; near 1x means it does
not. pydicom's decoding of the same frames (``pydicom.pixels.decoders``) is
not comparable per codec, so decode speed is reported in megapixels per
second for each backend instead.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.core.transfer_syntax import resolve
from dicomframe.plugins import CodecManager


def _frames(count: int, size: int, bits: int) -> list[NativeFrame]:
    info = FrameInfo(
        rows=size,
        columns=size,
        bits_allocated=bits,
        bits_stored=12 if bits == 16 else 8,
        high_bit=11 if bits == 16 else 7,
    )
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:size, 0:size]
    frames = []
    for index in range(count):
        smooth = (np.sin(x / 23 + index) + np.cos(y / 17)) * (1000 if bits == 16 else 50)
        noise = rng.normal(0, 20 if bits == 16 else 3, (size, size))
        top = 4095 if bits == 16 else 255
        values = np.clip(smooth + noise + top / 2, 0, top).astype(info.dtype)
        frames.append(NativeFrame(values.reshape(-1), info))
    return frames


def _decode_all(codec: Any, encoded: list[EncapsulatedFrame], workers: int) -> float:
    started = time.perf_counter()
    if workers == 1:
        for frame in encoded:
            codec.decode(frame)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(codec.decode, encoded))
    return time.perf_counter() - started


def _best(codec: Any, encoded: list[EncapsulatedFrame], workers: int, repeat: int) -> float:
    return min(_decode_all(codec, encoded, workers) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    manager = CodecManager()
    print("| codec | syntax | frame | decode MPixel/s (1 thread) | 2 threads speed-up | GIL |")
    print("|---|---|---|---|---|---|")
    for row in manager.codecs():
        codec = row.codec
        if not row.available or codec.decode is None:
            continue
        found = _encodable(codec, args.frames, args.size)
        if found is None:
            continue
        syntax, bits, encoded = found
        one = _best(codec, encoded, 1, args.repeat)
        two = _best(codec, encoded, 2, args.repeat)
        pixels = args.frames * args.size * args.size / 1e6
        speedup = one / two
        gil = "released" if speedup > 1.5 else ("partly" if speedup > 1.15 else "held")
        print(
            f"| {codec.name} | {syntax.keyword} | {args.size}x{args.size} uint{bits} | "
            f"{pixels / one:.1f} | {speedup:.2f}x | {gil} |"
        )


def _encodable(codec: Any, count: int, size: int) -> tuple[Any, int, list[Any]] | None:
    """The first syntax and bit depth this codec encodes, and the encoded frames."""
    for uid in sorted(codec.transfer_syntaxes):
        if not codec.handles(uid, encoding=True):
            continue
        syntax = resolve(uid)
        for bits in (16, 8):
            frames = _frames(count, size, bits)
            if codec.why_not(frames[0].info, encoding=True) is not None:
                continue
            try:
                return syntax, bits, [codec.encode(frame, syntax) for frame in frames]
            except Exception:
                continue
    return None


if __name__ == "__main__":
    main()
