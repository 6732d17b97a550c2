"""PackBits decoding of a whole RLE Lossless frame with numpy (PS3.5 G.3.2, G.5).

:func:`decode_planes` turns an RLE frame into one row of bytes per segment,
with no Python loop over bytes or runs. The frame's bytes from the first
segment on are taken in blocks of ``_BLOCK`` bytes, so that the work arrays
(8 bytes per byte of the block) stay in the cache and are reused, block after
block and call after call (one set per thread), rather than allocated, and
faulted in, at 16 bytes per byte of the frame.

1. **Jumps.** Every byte of a block is read as if it were a run header:
   ``jump[p]`` is where the next header would be (``p + n + 2`` after a
   literal header ``n < 128``, ``p + 2`` after a replicate header, ``p + 1``
   after the no-op 128), cut at the end of ``p``'s segment, so that no run
   crosses into the next segment and the chain from the first segment passes
   through the start of every later one. Past the block's end each position
   leads to itself.
2. **The chain of headers** through the block, from where the previous
   block's chain left it. ``np.take`` with ``mode="clip"`` and ``out``
   aliasing its own indices one place on (``chain[k + 1] = jump[chain[k]]``)
   follows the chain in one C loop over the runs: numpy does not copy indices
   that overlap ``out``. That is numpy's behaviour rather than its promise,
   so every chain is checked (``jump[chain[k]] == chain[k + 1]`` for each
   run, one vectorised comparison) and, should the check ever fail, pointer
   doubling finds the same chain in about log2(runs) passes.
3. **Runs.** From the headers alone: the bytes each run gives (a literal run
   what its segment holds of it; a replicate run whose header is the last
   byte of its segment, nothing), each segment's total, checked before
   anything is expanded (a short segment is an error), and the bytes kept
   when a segment gives more than ``rows * columns`` (padding, an overlong
   last run: cut there, as other decoders do).
4. **Expansion**, block by block: each byte gets a repeat count (0 for a
   header, the run's length for a replicate run's byte, 1 for a literal
   byte, 0 past a segment's cut) and ``np.repeat`` writes the segments'
   bytes, back to back.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

__all__ = ["decode_planes", "follow_chain"]

Array = np.ndarray[Any, Any]
_N = np.arange(256)
# PS3.5 G.3.2, by header byte n: bytes from this header to the next one ...
_STEP_TABLE = bytes(np.where(_N < 128, _N + 2, np.where(_N > 128, 2, 1)).astype(np.uint8))
# ... and bytes a replicate header repeats (257 - n; none for 128).
_REPEATS = np.where(_N > 128, 257 - _N, 0).astype(np.intp)
_BLOCK = 1 << 15  # bytes of the frame per block
_REACH = 129  # the longest step: a chain leaving a block lands at most this far past it
_OFFSETS = np.arange(_BLOCK + _REACH + 1, dtype=np.intp)


class _WorkArrays(threading.local):
    """One block's jumps, chain and repeat counts, made once per thread."""

    def __init__(self) -> None:
        self.jump = np.empty(_BLOCK + _REACH + 1, dtype=np.intp)
        self.chain = np.empty(_BLOCK + 2, dtype=np.intp)
        self.counts = np.empty(_BLOCK, dtype=np.intp)


_WORK = _WorkArrays()


def follow_chain(jump: Array, chain: Array, end: int, guess: int) -> int:
    """Fill ``chain`` from ``chain[0]`` (``jump[chain[k]]`` next) until it reaches ``end``.

    Returns how many entries are filled. Unchecked: :func:`_block_chain` checks it.
    """
    done, step = 1, max(guess, 16)
    while done < chain.size and chain[done - 1] < end:
        stop = min(done + step, chain.size)
        # out aliases the indices one place on: chain[k + 1] = jump[chain[k]].
        np.take(jump, chain[done - 1 : stop - 1], out=chain[done:stop], mode="clip")
        done, step = stop, step * 2
    return done


def _doubled_chain(jump: Array, first: int, end: int) -> Array:
    """The chain from ``first`` to its first position ``>= end``, by pointer doubling.

    ``jump`` must send every position ``>= end`` to one ``>= end``.
    """
    jump = jump.copy()
    spare = np.empty_like(jump)
    chain = np.array([first], dtype=np.intp)  # entries 0 .. 2**k - 1 of the chain
    while chain[-1] < end:
        after = np.take(jump, chain)  # entries 2**k .. 2**(k+1) - 1
        if after[-1] >= end:
            return np.concatenate([chain, after[: int(np.searchsorted(after, end)) + 1]])
        chain = np.concatenate([chain, after])
        np.take(jump, jump, out=spare, mode="clip")  # now jump 2**(k+1) entries
        jump, spare = spare, jump
    return chain


def _block_chain(jump: Array, entry: int, end: int, guess: int) -> Array:
    """The headers from ``entry`` (< ``end``), then the first position ``>= end``."""
    chain = _WORK.chain[: end - entry + 2]  # at most one header per byte, and the exit
    chain[0] = entry
    done = follow_chain(jump, chain, end, guess)
    count = int(np.searchsorted(chain[:done], end))  # the chain rises past end, then stays
    if (
        count < done
        and chain[count] >= end
        and (count == 0 or chain[count - 1] < end)
        and np.array_equal(np.take(jump, chain[:count]), chain[1 : count + 1])
    ):
        return chain[: count + 1].copy()
    return _doubled_chain(jump, entry, end)


def _headers(data: bytes, spans: list[tuple[int, int]]) -> Array:
    """Every run header of the frame from the first segment on, in order."""
    size = len(data)
    steps = np.frombuffer(data.translate(_STEP_TABLE), dtype=np.uint8)
    ends = [end for _, end in spans]
    found = []
    entry, guess = spans[0][0], _BLOCK // 16
    for start in range(spans[0][0], size, _BLOCK):
        length = min(_BLOCK, size - start)
        if entry >= start + length:  # the last run of the previous block covers this one
            continue
        jump = _WORK.jump[: length + _REACH + 1]
        np.add(_OFFSETS[:length], steps[start : start + length], out=jump[:length])
        jump[length:] = _OFFSETS[length : length + _REACH + 1]  # past the block: stay
        for end in ends:
            if start < end <= start + length + _REACH:  # no run crosses its segment's end
                tail = jump[max(0, end - _REACH - start) : min(end - start, length)]
                np.minimum(tail, end - start, out=tail)
        chain = _block_chain(jump, entry - start, length, guess)
        found.append(chain[:-1] + start)
        entry, guess = int(chain[-1]) + start, chain.size + chain.size // 4
    return np.concatenate(found)


def _short(index: int, got: int, rows: int, columns: int) -> ValueError:
    return ValueError(
        f"RLE segment {index} decodes to {got} bytes; a {columns}x{rows} frame "
        f"needs {rows * columns}"
    )


def decode_planes(data: bytes, spans: list[tuple[int, int]], rows: int, columns: int) -> Array:
    """Decode every segment of an RLE frame: ``(segments, rows * columns)`` bytes.

    Parameters
    ----------
    data : bytes
        The whole RLE frame, header included.
    spans : list of tuple of int
        Each segment's ``(start, end)`` in ``data``, in order, each ending
        where the next starts and the last at the end of ``data`` (as
        :func:`dicomframe.codecs.rle.parse_header` gives them).
    rows, columns : int
        The frame's size: each segment must decode to ``rows * columns`` bytes.

    Raises
    ------
    ValueError
        When a segment decodes to fewer than ``rows * columns`` bytes.
    """
    needed = rows * columns
    src = np.frombuffer(data, dtype=np.uint8)
    heads = _headers(data, spans)
    starts = [start for start, _ in spans]
    after = np.append(heads[1:], src.size)  # every segment's start is a header
    values = np.take(src, heads)
    literal = values < 128
    replicate = ~literal & (after - heads == 2)  # not when its byte is past the segment
    gives = np.where(literal, after - heads - 1, np.take(_REPEATS, values) * replicate)
    firsts = np.searchsorted(heads, starts)
    totals = np.add.reduceat(gives, firsts)
    short = np.flatnonzero(totals < needed)
    if short.size:
        index = int(short[0])
        raise _short(index, int(totals[index]), rows, columns)
    cuts = _cuts((heads, gives, literal), firsts, totals, [end for _, end in spans], needed)
    return _expand(src, heads, np.take(gives, np.flatnonzero(replicate)), replicate, cuts).reshape(
        len(spans), needed
    )


def _cuts(
    runs: tuple[Array, Array, Array], firsts: Array, totals: Array, ends: list[int], needed: int
) -> list[tuple[int, int, int]]:
    """Where segments that give more than ``needed`` bytes stop: ``(from, to, repeat)``.

    Bytes ``from .. to - 1`` give nothing; ``repeat`` is the new count of the
    replicate byte just before ``from``, or -1 when the cut is in a literal run.
    """
    heads, gives, literal = runs
    cuts = []
    bounds = [*firsts.tolist(), heads.size]
    for index in np.flatnonzero(totals > needed).tolist():
        first, stop = bounds[index], bounds[index + 1]
        filled = np.cumsum(gives[first:stop])
        last = int(np.searchsorted(filled, needed))  # the run that fills the segment
        head = int(heads[first + last])
        keep = needed - int(filled[last] - gives[first + last])
        if literal[first + last]:
            cuts.append((head + 1 + keep, ends[index], -1))
        else:
            cuts.append((head + 2, ends[index], keep))
    return cuts


def _expand(
    src: Array, heads: Array, repeats: Array, replicate: Array, cuts: list[tuple[int, int, int]]
) -> Array:
    """Every segment's bytes, back to back: ``np.repeat`` block by block."""
    size, first = src.size, int(heads[0])
    counts = _WORK.counts
    bytes_at = np.take(heads, np.flatnonzero(replicate)) + 1  # each replicate run's byte
    block_starts = np.arange(first, size, _BLOCK)
    head_bounds = [*np.searchsorted(heads, block_starts).tolist(), heads.size]
    byte_bounds = [*np.searchsorted(bytes_at, block_starts).tolist(), bytes_at.size]
    pieces = []
    for index, start in enumerate(block_starts.tolist()):
        stop = min(start + _BLOCK, size)
        local = counts[: stop - start]
        local.fill(1)
        local[heads[head_bounds[index] : head_bounds[index + 1]] - start] = 0
        run = slice(byte_bounds[index], byte_bounds[index + 1])
        local[bytes_at[run] - start] = repeats[run]
        for cut_from, cut_to, repeat in cuts:
            if repeat >= 0 and start <= cut_from - 1 < stop:
                local[cut_from - 1 - start] = repeat
            local[max(cut_from, start) - start : max(min(cut_to, stop), start) - start] = 0
        pieces.append(np.repeat(src[start:stop], local))
    return np.concatenate(pieces)
