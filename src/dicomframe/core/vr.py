"""Value representations (PS3.5 6.2) and the facts each one carries.

The reader, writer and value decoders ask this module, never a chain of
``if vr in (...)`` of their own: how long the explicit-VR header is, which
byte pads an odd value, how wide a binary number is, whether text is
subject to the Specific Character Set.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "BINARY_NUMBER_FORMATS",
    "BYTES_VRS",
    "CHARSET_VRS",
    "LONG_HEADER_VRS",
    "SINGLE_VALUE_TEXT_VRS",
    "STRING_VRS",
    "VR",
    "padding_byte",
    "swap_bytes",
]


class VR(StrEnum):
    """The 34 value representations of the current standard."""

    AE = "AE"
    AS = "AS"
    AT = "AT"
    CS = "CS"
    DA = "DA"
    DS = "DS"
    DT = "DT"
    FD = "FD"
    FL = "FL"
    IS = "IS"
    LO = "LO"
    LT = "LT"
    OB = "OB"
    OD = "OD"
    OF = "OF"
    OL = "OL"
    OV = "OV"
    OW = "OW"
    PN = "PN"
    SH = "SH"
    SL = "SL"
    SQ = "SQ"
    SS = "SS"
    ST = "ST"
    SV = "SV"
    TM = "TM"
    UC = "UC"
    UI = "UI"
    UL = "UL"
    UN = "UN"
    UR = "UR"
    US = "US"
    UT = "UT"
    UV = "UV"


# PS3.5 7.1.2: these VRs have two reserved bytes and a 32-bit length in explicit VR.
LONG_HEADER_VRS = frozenset(
    {VR.OB, VR.OD, VR.OF, VR.OL, VR.OV, VR.OW, VR.SQ, VR.SV, VR.UC, VR.UN, VR.UR, VR.UT, VR.UV}
)

STRING_VRS = frozenset(
    {
        VR.AE, VR.AS, VR.CS, VR.DA, VR.DS, VR.DT, VR.IS, VR.LO, VR.LT, VR.PN,
        VR.SH, VR.ST, VR.TM, VR.UC, VR.UI, VR.UR, VR.UT,
    }
)  # fmt: skip

# PS3.5 6.1.2.3: only these are affected by Specific Character Set.
CHARSET_VRS = frozenset({VR.LO, VR.LT, VR.PN, VR.SH, VR.ST, VR.UC, VR.UT})

# PS3.5 6.4: these never hold more than one value; a backslash is data.
SINGLE_VALUE_TEXT_VRS = frozenset({VR.LT, VR.ST, VR.UT, VR.UR})

BYTES_VRS = frozenset({VR.OB, VR.OD, VR.OF, VR.OL, VR.OV, VR.OW, VR.UN})

# struct format character and item size of each binary number VR.
BINARY_NUMBER_FORMATS: dict[VR, tuple[str, int]] = {
    VR.US: ("H", 2),
    VR.SS: ("h", 2),
    VR.UL: ("L", 4),
    VR.SL: ("l", 4),
    VR.FL: ("f", 4),
    VR.FD: ("d", 8),
    VR.SV: ("q", 8),
    VR.UV: ("Q", 8),
    VR.AT: ("H", 2),
}

# Byte-swapping unit for the "other" VRs when endianness changes.
SWAP_SIZE: dict[VR, int] = {
    VR.OW: 2,
    VR.OF: 4,
    VR.OL: 4,
    VR.OD: 8,
    VR.OV: 8,
    VR.US: 2,
    VR.SS: 2,
    VR.AT: 2,
    VR.UL: 4,
    VR.SL: 4,
    VR.FL: 4,
    VR.FD: 8,
    VR.SV: 8,
    VR.UV: 8,
}


def padding_byte(vr: VR) -> bytes:
    """Return the byte that pads an odd-length value to even length (PS3.5 6.2)."""
    if vr is VR.UI or vr in BYTES_VRS or vr in BINARY_NUMBER_FORMATS:
        return b"\x00"
    return b" "


def swap_bytes(raw: bytes | memoryview, unit: int) -> bytes:
    """Reverse the byte order of each whole ``unit``-byte number in ``raw``.

    A last, partial number (a value whose length is not a multiple of the
    unit) is kept as it is, as DCMTK keeps it, so reading such a value back
    in the other byte order undoes the swap exactly.
    """
    import numpy as np

    whole = len(raw) - len(raw) % unit
    swapped = np.frombuffer(raw[:whole], dtype=f"<u{unit}").byteswap().tobytes()
    return swapped + bytes(raw[whole:]) if whole < len(raw) else swapped
