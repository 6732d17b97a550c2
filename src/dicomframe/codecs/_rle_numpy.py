"""PackBits decoding of a whole RLE Lossless frame with numpy (PS3.5 G.3.2, G.5).

:func:`decode_pieces` decodes every segment of an RLE frame with no Python
loop over bytes or runs. Each segment is taken in blocks of at most
``_BLOCK`` bytes, so that the work arrays (8 bytes per byte of a block) stay
in the cache and are reused, block after block and call after call (one set
per thread), rather than allocated, and faulted in, for every frame; the
per-run arrays are 32-bit for the same reason.

1. **Jumps.** Every byte of a block is read as if it were a run header:
   ``jump[p]`` is where the next header would be (``p + n + 2`` after a
   literal header ``n < 128``, ``p + 2`` after a replicate header, ``p + 1``
   after the no-op 128), cut at the end of the segment, so that no run
   crosses into the next one. Past the block's end each position leads to
   itself.
2. **The chain of headers** through the block, from where the previous
   block's chain left it (a segment's first byte is a header). ``np.take``
   with ``mode="clip"`` and ``out`` aliasing its own indices one place on
   (``chain[k + 1] = jump[chain[k]]``) follows the chain in one C loop over
   the runs: numpy does not copy indices that overlap ``out``. That is
   numpy's behaviour rather than its promise, so every chain is checked
   (``jump[chain[k]] == chain[k + 1]`` for each run, one vectorised
   comparison) and, should the check ever fail, pointer doubling finds the
   same chain in about log2(runs) passes.
3. **Runs.** From the headers alone: the bytes each run gives (a literal run
   what its segment holds of it; a replicate run whose header is the last
   byte of its segment, nothing), each segment's total, checked before
   anything is expanded (a short segment is an error), and where a segment
   that gives more than ``rows * columns`` bytes is cut (padding, an
   overlong last run: cut there, as other decoders do).
4. **Expansion**, block by block: each byte gets a repeat count (0 for a
   header, the run's length for a replicate run's byte, 1 for a literal
   byte, 0 past a segment's cut) and ``np.repeat`` writes that block's part
   of its segment.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

__all__ = ["decode_pieces", "follow_chain"]

Array = np.ndarray[Any, Any]
_N = np.arange(256)
# PS3.5 G.3.2, by header byte n: bytes from this header to the next one.
_STEP_TABLE = bytes(np.where(_N < 128, _N + 2, np.where(_N > 128, 2, 1)).astype(np.uint8))
_BLOCK = 1 << 15  # bytes of a segment per block
_REACH = 129  # the longest step: a chain leaving a block lands at most this far past it
_OFFSETS = np.arange(_BLOCK + _REACH + 1, dtype=np.intp)
_INTP = np.dtype(np.intp)  # index arrays made as such are used without a cast

Block = tuple[int, int, int]  # segment, start, stop
Cut = tuple[int, int, int]  # bytes from .. to - 1 give nothing; the replicate count before


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
        return chain[: count + 1]
    return _doubled_chain(jump, entry, end)


def _blocks(spans: list[tuple[int, int]]) -> list[Block]:
    """Each segment in blocks of at most ``_BLOCK`` bytes."""
    return [
        (index, start, min(start + _BLOCK, end))
        for index, (first, end) in enumerate(spans)
        for start in range(first, end, _BLOCK)
    ]


def _headers(data: bytes, blocks: list[Block], ends: list[int], kind: type) -> tuple[Array, Array]:
    """Every run header of every segment, in order, and its byte."""
    heads, values = [], []
    entry, guess, segment = -1, _BLOCK // 16, -1
    for index, start, stop in blocks:
        if index != segment:
            entry, segment = start, index  # a segment starts with a header
        if entry >= stop:  # a short last block inside a run (cut at the segment's end)
            continue
        length = stop - start
        jump = _WORK.jump[: length + _REACH + 1]
        block = data[start:stop]
        jump[:length] = np.frombuffer(block.translate(_STEP_TABLE), dtype=np.uint8)
        jump[:length] += _OFFSETS[:length]
        jump[length:] = _OFFSETS[length : length + _REACH + 1]  # past the block: stay
        if stop == ends[index]:  # no run crosses the segment's end
            tail = jump[max(0, length - _REACH) : length]
            np.minimum(tail, length, out=tail)
        chain = _block_chain(jump, entry - start, length, guess)
        heads.append(np.add(chain[:-1], start, dtype=kind))
        values.append(np.take(np.frombuffer(block, dtype=np.uint8), chain[:-1]))
        entry, guess = int(chain[-1]) + start, chain.size + chain.size // 4
    return np.concatenate(heads), np.concatenate(values)


def _short(index: int, got: int, rows: int, columns: int) -> ValueError:
    return ValueError(
        f"RLE segment {index} decodes to {got} bytes; a {columns}x{rows} frame "
        f"needs {rows * columns}"
    )


def decode_pieces(
    data: bytes, spans: list[tuple[int, int]], rows: int, columns: int
) -> list[tuple[int, int, Array]]:
    """Decode every segment of an RLE frame, in pieces: ``(segment, offset, bytes)``.

    The pieces of each segment, in order, make up its ``rows * columns``
    bytes; ``offset`` is where a piece starts among them.

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
    ends = [end for _, end in spans]
    blocks = _blocks(spans)
    kind = np.int32 if len(data) < 2**31 else np.int64  # the per-run arrays: small
    heads, values = _headers(data, blocks, ends, kind)
    firsts = np.searchsorted(heads, np.array([start for start, _ in spans], dtype=kind))
    gives = np.empty_like(heads)  # bytes to the next header ...
    np.subtract(heads[1:], heads[:-1], out=gives[:-1])
    gives[-1] = ends[-1] - heads[-1]
    literal = values < 128
    replicate = ~literal & (gives == 2)  # (not when its byte is past the segment's end)
    gives -= 1  # ... so a literal run gives the bytes after its header,
    gives *= literal  # others nothing but what a replicate run repeats
    gives += np.subtract(257, values, dtype=kind) * replicate
    totals = np.add.reduceat(gives, firsts, dtype=np.int64)
    short = np.flatnonzero(totals < needed)
    if short.size:
        index = int(short[0])
        raise _short(index, int(totals[index]), rows, columns)
    cuts = _cuts((heads, gives, literal), firsts, totals, ends, needed)
    where = np.flatnonzero(replicate)
    return _expand(data, blocks, heads, (np.take(heads, where) + 1, np.take(gives, where)), cuts)


def _cuts(
    runs: tuple[Array, Array, Array], firsts: Array, totals: Array, ends: list[int], needed: int
) -> dict[int, Cut]:
    """Where each segment that gives more than ``needed`` bytes stops, by segment.

    ``(from, to, repeat)``: bytes ``from .. to - 1`` give nothing; ``repeat``
    is the new count of the replicate byte just before ``from``, or -1 when
    the cut is in a literal run.
    """
    heads, gives, literal = runs
    cuts = {}
    bounds = [*firsts.tolist(), heads.size]
    for index in np.flatnonzero(totals > needed).tolist():
        first, stop = bounds[index], bounds[index + 1]
        filled = np.cumsum(gives[first:stop], dtype=np.int64)
        last = int(np.searchsorted(filled, needed))  # the run that fills the segment
        head = int(heads[first + last])
        keep = needed - int(filled[last] - gives[first + last])
        if literal[first + last]:
            cuts[index] = (head + 1 + keep, ends[index], -1)
        else:
            cuts[index] = (head + 2, ends[index], keep)
    return cuts


def _expand(
    data: bytes,
    blocks: list[Block],
    heads: Array,
    replicates: tuple[Array, Array],
    cuts: dict[int, Cut],
) -> list[tuple[int, int, Array]]:
    """Each block's part of its segment: ``np.repeat`` with a count for each byte."""
    src = np.frombuffer(data, dtype=np.uint8)
    bytes_at, repeats = replicates  # each replicate run's byte, and its count
    block_starts = np.array([start for _, start, _ in blocks], dtype=heads.dtype)  # no casts
    head_bounds = [*np.searchsorted(heads, block_starts).tolist(), heads.size]
    byte_bounds = [*np.searchsorted(bytes_at, block_starts).tolist(), bytes_at.size]
    pieces, offset, segment = [], 0, -1
    for number, (index, start, stop) in enumerate(blocks):
        if index != segment:
            offset, segment = 0, index
        counts = _WORK.counts[: stop - start]
        counts.fill(1)
        local = np.subtract(
            heads[head_bounds[number] : head_bounds[number + 1]], start, dtype=_INTP
        )
        counts[local] = 0
        run = slice(byte_bounds[number], byte_bounds[number + 1])
        counts[np.subtract(bytes_at[run], start, dtype=_INTP)] = repeats[run]
        if index in cuts:
            cut_from, cut_to, repeat = cuts[index]
            if repeat >= 0 and start <= cut_from - 1 < stop:
                counts[cut_from - 1 - start] = repeat
            counts[max(cut_from, start) - start : max(min(cut_to, stop), start) - start] = 0
        piece = np.repeat(src[start:stop], counts)
        pieces.append((index, offset, piece))
        offset += piece.size
    return pieces
