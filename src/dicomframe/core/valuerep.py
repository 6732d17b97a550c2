"""Python types for DICOM string values that need more than ``str``.

Contract: every type keeps the text it was built from, so a value read and
not changed is written back with the same characters, while offering the
richer Python object (a float, a :class:`datetime.date`, the parts of a name).
:class:`DS` and :class:`IS` parse strictly (they are numbers, so must hold
one); the ``to_*`` methods of :class:`DA`, :class:`TM`, :class:`DT` are lenient
and take the ACR-NEMA forms old devices still write. Whether a value may be
*written* (lengths, repertoires) is decided by ``values.encode_value``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, SupportsFloat, SupportsIndex, TypeVar

from dicomframe.core.lazyre import LazyPattern
from dicomframe.errors import EncodingError

if TYPE_CHECKING:
    from decimal import Decimal

__all__ = ["DA", "DS", "DT", "IS", "TM", "PersonName", "format_ds"]

# PS3.5 Table 6.2-1: DS is "0-9, +, -, E, e, . and the space character".
# Python's float() also takes "nan", "inf" and "1_000", which DS does not.
_DS_TEXT = LazyPattern(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_IS_TEXT = LazyPattern(r"[+-]?\d+")
_DS_MAX = 16
_T = TypeVar("_T")


def _compact(text: str) -> str:
    """Drop trailing mantissa zeros and the exponent's '+' and leading zeros."""
    mantissa, _, exponent = text.partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa


def format_ds(value: SupportsFloat) -> str:
    """Return the Decimal String text of a number, at most 16 characters.

    ``repr`` is used when it fits, being the shortest text that reads back as
    the same float; otherwise the number is rounded to as many significant
    digits as fit in PS3.5's 16 bytes, in plain or exponent form
    (``"-3.1415926535898"``, ``"1.23456789012e-4"``).

    Raises
    ------
    EncodingError
        If ``value`` is NaN or infinite: DS has no text for them.
    """
    number = float(value)
    if not math.isfinite(number):
        raise EncodingError(f"DS cannot represent {number!r}: only finite numbers have DS text")
    text = repr(number)
    if len(text) <= _DS_MAX:
        return text
    for digits in range(17, 0, -1):
        rounded: float | Decimal = number
        if math.isinf(float(f"{number:.{digits}g}")):  # rounded up past the largest float
            from decimal import ROUND_DOWN, Context  # rare: imported here, not with the core

            rounded = Context(prec=digits, rounding=ROUND_DOWN).create_decimal(number)
        forms = (_compact(f"{rounded:.{digits}g}"), _compact(f"{rounded:.{digits - 1}e}"))
        fitting = [form for form in forms if len(form) <= _DS_MAX]
        if fitting:
            return min(fitting, key=len)
    raise AssertionError(f"unreachable: no DS text for {number!r}")  # pragma: no cover


class DS(float):
    """A Decimal String: a float that remembers the text it was read from.

    ``DS(" 1.50 ")`` equals ``1.5`` in arithmetic and comparisons, but
    ``str()`` gives ``"1.50"`` so an unchanged value is written back as it
    was read. A DS made from a number has no original text; ``str()`` then
    formats it with :func:`format_ds`.

    Text that is not a decimal number, NaN and infinity raise ValueError.
    """

    __slots__ = ("original",)
    original: str | None

    def __new__(cls, value: str | SupportsFloat) -> DS:
        """Parse DS text or wrap a number."""
        original: str | None
        if isinstance(value, DS):
            original = value.original
        elif isinstance(value, str):
            original = value.strip(" ")
            if _DS_TEXT.fullmatch(original) is None:
                raise ValueError(f"not a Decimal String: {value!r}")
        else:
            original = None
        self = super().__new__(cls, original if original is not None else value)
        if not math.isfinite(self):
            raise ValueError(f"DS cannot hold {float(self)!r}")
        self.original = original
        return self

    def __getnewargs__(self) -> tuple[str | float]:  # type: ignore[override]
        """Rebuild from the original text, so copies and pickles keep it."""
        return (self.original if self.original is not None else float(self),)

    def __str__(self) -> str:
        return self.original if self.original is not None else format_ds(self)

    def __repr__(self) -> str:
        return f"DS({self.original if self.original is not None else float(self)!r})"


class IS(int):
    """An Integer String: an int that remembers the text it was read from.

    Accepts padding spaces and a sign (``"  12 "``, ``"+5"``) and, leniently
    as pydicom and many devices do, decimal text whose value is integral
    (``"1.0"``, ``"2e3"``). ``str()`` gives the original text when there is
    one. Text that is not an integral number raises ValueError; the ±2**31
    range of PS3.5 is checked when encoding, so a bad file can still be read.
    """

    original: str | None

    def __new__(cls, value: str | SupportsIndex | float) -> IS:
        """Parse IS text or wrap an integral number."""
        original: str | None = None
        if isinstance(value, IS):
            number, original = int(value), value.original
        elif isinstance(value, str):
            original = value.strip(" ")
            number = _parse_integer_text(original, value)
        elif isinstance(value, float) and not value.is_integer():
            raise ValueError(f"IS needs an integral value, not {value!r}")
        else:
            number = int(value)
        self = super().__new__(cls, number)
        self.original = original
        return self

    def __getnewargs__(self) -> tuple[str | int]:  # type: ignore[override]  # as DS's
        return (self.original if self.original is not None else int(self),)

    def __str__(self) -> str:
        return self.original if self.original is not None else int.__repr__(self)

    def __repr__(self) -> str:
        return f"IS({self.original if self.original is not None else int(self)!r})"


def _parse_integer_text(text: str, shown: str) -> int:
    """Parse stripped IS text; integral decimal text is accepted leniently."""
    if _IS_TEXT.fullmatch(text):
        return int(text)
    if _DS_TEXT.fullmatch(text):
        # Decimal, not float: "12345678901234567.0" must not round.
        from decimal import Decimal  # rare: imported here, not with the core

        number = Decimal(text)
        if number == number.to_integral_value():
            return int(number)
    raise ValueError(f"not an Integer String: {shown!r}")


class _Text(str):
    """Text that is its own value; the repr names the type so it is not mistaken for str."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str.__repr__(self)})"


class PersonName(_Text):
    """A Person Name, kept as its DICOM text.

    A ``str`` subclass because a name *is* its text: it compares equal to
    the same ``str`` (as pydicom's PersonName does), hashes like it, and is
    written back unchanged. The properties split it on demand: up to three
    component groups separated by ``=`` (alphabetic, ideographic,
    phonetic), each of up to five components separated by ``^`` (family,
    given, middle, prefix, suffix; PS3.5 6.2.1).
    """

    __slots__ = ()

    def __new__(cls, value: str = "") -> PersonName:
        """Wrap the text of a name."""
        if not isinstance(value, str):
            raise TypeError(f"PersonName needs str text, not {type(value).__name__}")
        return super().__new__(cls, value)

    @classmethod
    def from_parts(
        cls,
        *,
        family: str = "",
        given: str = "",
        middle: str = "",
        prefix: str = "",
        suffix: str = "",
    ) -> PersonName:
        """Build an alphabetic name from its components; a delimiter in one is a ValueError.

        Trailing empty components are left out, as PS3.5 6.2.1 recommends
        (``from_parts(family="Doe")`` is ``"Doe"``, not ``"Doe^^^^"``).
        """
        return cls(_join((family, given, middle, prefix, suffix), "^"))

    @classmethod
    def from_groups(cls, alphabetic: str, ideographic: str = "", phonetic: str = "") -> PersonName:
        """Build a name from its component groups, leaving out trailing empty ones."""
        return cls(_join((alphabetic, ideographic, phonetic), "="))

    @property
    def components(self) -> tuple[str, ...]:
        """The component groups present in the text; ``()`` for an empty name."""
        return tuple(self.split("=")) if self else ()

    def _group(self, index: int) -> str:
        groups = self.split("=")
        return groups[index] if index < len(groups) else ""

    def _part(self, index: int) -> str:
        parts = self._group(0).split("^")
        return parts[index] if index < len(parts) else ""

    @property
    def alphabetic(self) -> str:
        """The first component group (single-byte characters)."""
        return self._group(0)

    @property
    def ideographic(self) -> str:
        """The second component group (ideographic characters)."""
        return self._group(1)

    @property
    def phonetic(self) -> str:
        """The third component group (phonetic characters)."""
        return self._group(2)

    @property
    def family_name(self) -> str:
        """The first component of the alphabetic group."""
        return self._part(0)

    @property
    def given_name(self) -> str:
        """The second component of the alphabetic group."""
        return self._part(1)

    @property
    def middle_name(self) -> str:
        """The third component of the alphabetic group."""
        return self._part(2)

    @property
    def name_prefix(self) -> str:
        """The fourth component of the alphabetic group."""
        return self._part(3)

    @property
    def name_suffix(self) -> str:
        """The fifth component of the alphabetic group."""
        return self._part(4)


def _join(parts: tuple[str, ...], delimiter: str) -> str:
    """Join name parts, refusing delimiters inside them and dropping trailing empties."""
    for part in parts:
        if any(char in part for char in "\\=" + delimiter):
            raise ValueError(f"PersonName part {part!r} contains a delimiter (^, = or \\)")
    return delimiter.join(parts).rstrip(delimiter)


# PS3.5 6.2: DA is YYYYMMDD; ACR-NEMA 300 wrote YYYY.MM.DD.
_DA_TEXT = LazyPattern(r"(\d{4})\.?(\d{2})\.?(\d{2})")
# TM is HH[MM[SS[.F{1,6}]]]; ACR-NEMA wrote HH:MM:SS. More than six fraction
# digits are accepted and truncated, as some devices write them.
_TM_TEXT = LazyPattern(r"(\d{2})(?::?(\d{2})(?::?(\d{2})(?:\.(\d*))?)?)?")
_DT_TEXT = LazyPattern(
    r"(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d*))?)?)?)?)?)?([+-]\d{4})?"
)


def _parse(kind: str, pattern: LazyPattern[str], text: str, build: Callable[..., _T]) -> _T:
    """Match ``text`` and build from its groups; every ValueError names the text."""
    match = pattern.fullmatch(text.strip(" "))
    try:
        if match is None:
            raise ValueError(f"the form is {kind}")  # noqa: TRY301 - one message for all failures
        return build(*match.groups())
    except ValueError as exc:
        raise ValueError(f"not a DICOM {type(text).__name__}: {str(text)!r}: {exc}") from exc


def _combine(year: str, *groups: str | None) -> datetime:
    """Build a datetime from the groups of ``_DT_TEXT``, missing parts at their minimum."""
    month, day, hour, minute, second, fraction, offset = groups
    zone = None
    if offset is not None:
        span = timedelta(hours=int(offset[1:3]), minutes=int(offset[3:]))
        zone = timezone(-span if offset[0] == "-" else span)
    day_of = date(int(year), int(month or 1), int(day or 1))
    return datetime.combine(day_of, _clock(hour or "0", minute, second, fraction), tzinfo=zone)


def _clock(hour: str, minute: str | None, second: str | None, fraction: str | None) -> time:
    """Build a time; ".1" is 100000 us, and second 60 (a leap second, PS3.5) becomes 59."""
    micro = int((fraction or "")[:6].ljust(6, "0"))
    return time(int(hour), int(minute or 0), min(int(second or 0), 59), micro)


class DA(_Text):
    """A Date: the DICOM text, convertible to :class:`datetime.date`.

    Build from text or from a ``date`` (``DA(date(2024, 1, 5))`` is
    ``"20240105"``). The text is kept as given, even if it is not a valid
    date, so that reading and re-writing a file never loses it.
    """

    __slots__ = ()

    def __new__(cls, value: str | date = "") -> DA:
        """Wrap date text, or format a ``date``."""
        if isinstance(value, date):
            value = f"{value.year:04d}{value.month:02d}{value.day:02d}"
        return super().__new__(cls, value)

    @classmethod
    def from_date(cls, value: date) -> DA:
        """Return the ``YYYYMMDD`` text of a date (a datetime's time is dropped)."""
        return cls(value)

    def to_date(self) -> date:
        """Return the date from ``YYYYMMDD`` or ACR-NEMA ``YYYY.MM.DD``; else ValueError."""
        return _parse("YYYYMMDD", _DA_TEXT, self, lambda *g: date(*map(int, g)))


class TM(_Text):
    """A Time: the DICOM text, convertible to :class:`datetime.time`.

    Partial precision is allowed (``"10"``, ``"1030"``, ``"103015.1234"``)
    and filled with zeros; ``to_time`` also accepts ACR-NEMA ``"10:30:15"``.
    """

    __slots__ = ()

    def __new__(cls, value: str | time = "") -> TM:
        """Wrap time text, or format a ``time``."""
        if isinstance(value, time):
            return cls.from_time(value)
        return super().__new__(cls, value)

    @classmethod
    def from_time(cls, value: time) -> TM:
        """Return ``HHMMSS``, with ``.FFFFFF`` only when there are microseconds."""
        text = f"{value.hour:02d}{value.minute:02d}{value.second:02d}"
        return cls(text + (f".{value.microsecond:06d}" if value.microsecond else ""))

    def to_time(self) -> time:
        """Return the time, the missing parts being zero; ValueError if it is not one."""
        return _parse("HH[MM[SS[.FFFFFF]]]", _TM_TEXT, self, _clock)


class DT(_Text):
    """A Date Time: the DICOM text, convertible to :class:`datetime.datetime`.

    Partial precision is allowed (``"2024"``, ``"202401"``...), the missing
    parts taking their smallest value; a UTC offset (``"&ZZXX"``) gives an
    aware datetime, no offset a naive one.
    """

    __slots__ = ()

    def __new__(cls, value: str | datetime = "") -> DT:
        """Wrap date-time text, or format a ``datetime``."""
        if isinstance(value, datetime):
            return cls.from_datetime(value)
        return super().__new__(cls, value)

    @classmethod
    def from_datetime(cls, value: datetime) -> DT:
        """Return ``YYYYMMDDHHMMSS[.FFFFFF][&ZZXX]``, the offset only for aware values.

        A UTC offset that is not a whole number of minutes raises ValueError.
        """
        text = f"{DA.from_date(value)}{TM.from_time(value.time())}"
        offset = value.utcoffset()
        if offset is not None:
            minutes, rest = divmod(offset, timedelta(minutes=1))
            if rest:
                raise ValueError(f"UTC offset {offset} is not a whole number of minutes")
            sign = "-" if minutes < 0 else "+"
            hours, minutes = divmod(abs(minutes), 60)
            text += f"{sign}{hours:02d}{minutes:02d}"
        return cls(text)

    def to_datetime(self) -> datetime:
        """Return the datetime, aware when the text has a UTC offset; else ValueError."""
        return _parse("YYYY[MM[DD[HH[MM[SS[.FFFFFF]]]]]][&ZZXX]", _DT_TEXT, self, _combine)
