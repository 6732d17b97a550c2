"""Codestream headers built by hand, byte by byte, from the standards' tables.

Enough of each stream for a header parser, and for a backend to start work: a JPEG 2000
main header (ISO/IEC 15444-1 A.5-A.6), a JPEG frame with its tables and one scan
(ISO/IEC 10918-1 B.2), a JPEG-LS frame (ISO/IEC 14495-1 C.2), an RLE header (PS3.5 G.5).
"""

from __future__ import annotations

import struct


def j2k(
    rows: int,
    columns: int,
    *,
    components: int = 1,
    precision: int = 8,
    signed: bool = False,
    body: int = 0,
) -> bytes:
    """SOC, SIZ, COD (5-3 reversible), QCD, then ``body`` bytes of one tile's data and EOC."""
    ssiz = (precision - 1) | (0x80 if signed else 0)
    siz = struct.pack(">HLLLLLLLLH", 0, columns, rows, 0, 0, columns, rows, 0, 0, components)
    siz += bytes([ssiz, 1, 1]) * components
    cod = bytes([0, 0, 0, 1, 0, 5, 4, 4, 0, 1])  # Scod, LRCP, 1 layer, no MCT; 5 levels, 5-3
    qcd = bytes([0x40]) + bytes([0x48] * 16)  # no quantisation, guard bits 2; exponents
    out = b"\xff\x4f" + _segment(0xFF51, siz) + _segment(0xFF52, cod) + _segment(0xFF5C, qcd)
    if body:
        tile = 12 + 2 + body
        out += _segment(0xFF90, struct.pack(">HLBB", 0, tile, 0, 1)) + b"\xff\x93"
        out += bytes((i * 37) & 0x7F for i in range(body))  # no marker codes inside
    return out + b"\xff\xd9"


def jp2(codestream: bytes) -> bytes:
    """``codestream`` in a JP2 file: signature, file type, then the codestream box."""
    signature = struct.pack(">L4s", 12, b"jP  ") + b"\r\n\x87\n"
    ftyp = struct.pack(">L4s4sL4s", 20, b"ftyp", b"jp2 ", 0, b"jp2 ")
    return signature + ftyp + struct.pack(">L4s", 8 + len(codestream), b"jp2c") + codestream


def jpeg(
    rows: int,
    columns: int,
    *,
    components: int = 1,
    precision: int = 8,
    sof: int = 0xFFC3,
    body: int = 64,
    dnl: bool = False,
) -> bytes:
    """SOI, an APP0, SOFn, one Huffman table, SOS, ``body`` bytes of scan data, EOI.

    ``dnl``: the SOF says 0 lines and a DNL marker after the scan says ``rows``.
    """
    specs = b"".join(bytes([i + 1, 0x11, 0]) for i in range(components))
    frame = struct.pack(">BHHB", precision, 0 if dnl else rows, columns, components) + specs
    dht = bytes([0x00]) + bytes([0, 1] + [0] * 14) + bytes([0])  # one code: category 0
    scan = bytes([components]) + b"".join(bytes([i + 1, 0]) for i in range(components))
    scan += bytes([1, 0, 0]) if sof in (0xFFC3, 0xFFC7, 0xFFCB, 0xFFCF) else bytes([0, 63, 0])
    out = b"\xff\xd8" + _segment(0xFFE0, b"JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x00\x00")
    out += _segment(sof, frame) + _segment(0xFFC4, dht) + _segment(0xFFDA, scan)
    out += bytes([0x00] * body)  # category-0 differences: every sample the prediction
    if dnl:
        out += _segment(0xFFDC, struct.pack(">H", rows))
    return out + b"\xff\xd9"


def jpeg_ls(
    rows: int, columns: int, *, components: int = 1, precision: int = 8, body: int = 64
) -> bytes:
    """SOI, SOF55, SOS (lossless, no interleave), ``body`` zero bytes, EOI."""
    specs = b"".join(bytes([i + 1, 0x11, 0]) for i in range(components))
    frame = struct.pack(">BHHB", precision, rows, columns, components) + specs
    scan = bytes([1, 1, 0, 0, 0, 0])  # one component, NEAR 0, ILV 0, no point transform
    return (
        b"\xff\xd8" + _segment(0xFFF7, frame) + _segment(0xFFDA, scan) + bytes(body) + b"\xff\xd9"
    )


def hierarchical(rows: int, columns: int, first_rows: int, first_columns: int) -> bytes:
    """SOI, DHP (the whole image), then a first frame of another size."""
    dhp = struct.pack(">BHHB", 8, rows, columns, 1) + bytes([1, 0x11, 0])
    first = jpeg(first_rows, first_columns, sof=0xFFC5)
    return b"\xff\xd8" + _segment(0xFFDE, dhp) + first[2:]


def rle(offsets: list[int], size: int, *, count: int | None = None) -> bytes:
    """An RLE frame of ``size`` bytes whose header gives ``offsets`` (and ``count`` segments)."""
    count = len(offsets) if count is None else count
    header = struct.pack("<16L", count, *offsets, *([0] * (15 - len(offsets))))
    return header + bytes([0x00, 0x00] * ((size - 64) // 2)) + bytes((size - 64) % 2)


def _segment(marker: int, body: bytes) -> bytes:
    return struct.pack(">HH", marker, 2 + len(body)) + body
