"""Tests for dicomframe.core.valuerep: DS, IS, PersonName, DA, TM, DT, format_ds."""

from __future__ import annotations

import copy
import math
import pickle
import re
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dicomframe.core.valuerep import DA, DS, DT, IS, TM, PersonName, format_ds
from dicomframe.errors import EncodingError

DS_PATTERN = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


# ---------------------------------------------------------------- format_ds


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, "0.1"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (100.0, "100.0"),
        (1e-20, "1e-20"),
        (1.5e300, "1.5e+300"),
        (1 / 3, "0.33333333333333"),
        (-3.14159265358979, "-3.1415926535898"),
        (12345678901234.5, "12345678901234.5"),
        (123456.78901234567, "123456.789012346"),
        (1.2345678901234568e17, "1.23456789012e17"),
        (0.000123456789012345678, "1.23456789012e-4"),
        (5e-324, "5e-324"),
        (1.7976931348500002e308, "1.7976931348e308"),  # rounding up would overflow
        (3, "3.0"),
    ],
)
def test_format_ds_known_values(value, expected):
    assert format_ds(value) == expected


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_format_ds_rejects_non_finite(value):
    with pytest.raises(EncodingError, match="DS cannot represent"):
        format_ds(value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_ds_fits_and_reads_back(value):
    text = format_ds(value)
    assert len(text) <= 16
    assert DS_PATTERN.fullmatch(text)
    back = float(text)
    if len(repr(value)) <= 16:
        assert back == value  # repr is exact
    else:
        # At least 9 significant digits always fit in 16 characters.
        assert abs(back - value) <= 1e-8 * abs(value) + 1e-320


# ---------------------------------------------------------------- DS


@pytest.mark.parametrize(
    ("text", "number", "original"),
    [
        ("1.50", 1.5, "1.50"),
        ("  1.50 ", 1.5, "1.50"),
        ("-0", 0.0, "-0"),
        ("+5", 5.0, "+5"),
        (".5", 0.5, ".5"),
        ("5.", 5.0, "5."),
        ("1E3", 1000.0, "1E3"),
        ("-1.5e-3", -0.0015, "-1.5e-3"),
    ],
)
def test_ds_parses_and_keeps_text(text, number, original):
    value = DS(text)
    assert value == number
    assert value.original == original
    assert str(value) == original
    assert repr(value) == f"DS({original!r})"


@pytest.mark.parametrize("text", ["", " ", "abc", "nan", "inf", "Infinity", "1_000", "1.2.3", "1e"])
def test_ds_rejects_invalid_text(text):
    with pytest.raises(ValueError, match="not a Decimal String"):
        DS(text)


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_ds_rejects_non_finite_numbers(value):
    with pytest.raises(ValueError, match="DS cannot hold"):
        DS(value)


def test_ds_from_number_has_no_original_and_formats():
    value = DS(1 / 3)
    assert value.original is None
    assert str(value) == "0.33333333333333"
    assert repr(value) == f"DS({1 / 3!r})"
    assert DS(DS("1.50")).original == "1.50"


@pytest.mark.parametrize("value", [DS("1.50"), DS(2.5)])
def test_ds_copies_and_pickles_keep_text(value):
    for clone in (copy.copy(value), copy.deepcopy(value), pickle.loads(pickle.dumps(value))):
        assert type(clone) is DS
        assert clone == value
        assert clone.original == value.original


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_ds_of_formatted_text_is_close(value):
    parsed = DS(format_ds(value))
    assert str(parsed) == format_ds(value)
    assert math.isclose(parsed, value, rel_tol=1e-8, abs_tol=1e-320)


# ---------------------------------------------------------------- IS


@pytest.mark.parametrize(
    ("text", "number", "original"),
    [
        ("12", 12, "12"),
        ("  12 ", 12, "12"),
        ("+5", 5, "+5"),
        ("-0042", -42, "-0042"),
        ("1.0", 1, "1.0"),  # lenient, like pydicom: integral decimal text
        ("2e3", 2000, "2e3"),
        ("12345678901234567.0", 12345678901234567, "12345678901234567.0"),  # no float rounding
    ],
)
def test_is_parses_and_keeps_text(text, number, original):
    value = IS(text)
    assert value == number
    assert value.original == original
    assert str(value) == original
    assert repr(value) == f"IS({original!r})"


@pytest.mark.parametrize("text", ["", "1.5", "abc", "1_0", "nan", "0x10", "1 2"])
def test_is_rejects_invalid_text(text):
    with pytest.raises(ValueError, match="not an Integer String"):
        IS(text)


def test_is_from_numbers():
    assert IS(7).original is None
    assert str(IS(7)) == "7"
    assert IS(3.0) == 3
    with pytest.raises(ValueError, match="integral"):
        IS(1.5)
    assert IS(IS("+5")).original == "+5"
    assert IS(2**40) == 2**40  # the range is checked when encoding


@pytest.mark.parametrize("value", [IS("+5"), IS(9)])
def test_is_copies_and_pickles_keep_text(value):
    for clone in (copy.copy(value), pickle.loads(pickle.dumps(value))):
        assert type(clone) is IS
        assert clone == value
        assert clone.original == value.original


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_is_round_trips_integers(number):
    assert IS(str(number)) == number
    assert str(IS(number)) == str(number)


# ---------------------------------------------------------------- PersonName


def test_person_name_parts():
    name = PersonName("Doe^John^Michael^Dr^Jr=ドウ^ジョン=どう^じょん")
    assert name.components == ("Doe^John^Michael^Dr^Jr", "ドウ^ジョン", "どう^じょん")
    assert name.alphabetic == "Doe^John^Michael^Dr^Jr"
    assert name.ideographic == "ドウ^ジョン"
    assert name.phonetic == "どう^じょん"
    assert (name.family_name, name.given_name, name.middle_name) == ("Doe", "John", "Michael")
    assert (name.name_prefix, name.name_suffix) == ("Dr", "Jr")


def test_person_name_missing_parts_are_empty():
    name = PersonName("Doe")
    assert name.given_name == name.name_suffix == ""
    assert name.ideographic == name.phonetic == ""
    assert name.components == ("Doe",)
    assert PersonName("").components == ()
    assert PersonName("=Yamada").components == ("", "Yamada")


def test_person_name_is_its_text():
    name = PersonName("Doe^John")
    assert name == "Doe^John"
    assert name == PersonName("Doe^John")
    assert name != "Doe^Jane"
    assert hash(name) == hash("Doe^John")
    assert {name: 1}["Doe^John"] == 1
    assert str(name) == "Doe^John"
    assert repr(name) == "PersonName('Doe^John')"
    assert pickle.loads(pickle.dumps(name)) == name


def test_person_name_rejects_bytes():
    with pytest.raises(TypeError, match="str text"):
        PersonName(b"Doe")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ({"family": "Doe"}, "Doe"),
        ({"family": "Doe", "given": "John"}, "Doe^John"),
        ({"family": "Doe", "suffix": "Jr"}, "Doe^^^^Jr"),
        ({"given": "John"}, "^John"),
        ({}, ""),
    ],
)
def test_person_name_from_parts(parts, expected):
    assert PersonName.from_parts(**parts) == expected


def test_person_name_from_groups():
    assert PersonName.from_groups("Yamada^Tarou", "山田^太郎") == "Yamada^Tarou=山田^太郎"
    assert PersonName.from_groups("Doe", "", "") == "Doe"
    assert PersonName.from_groups("", "", "ph") == "==ph"


@pytest.mark.parametrize("bad", ["Do^e", "Do=e", "Do\\e"])
def test_person_name_from_parts_rejects_delimiters(bad):
    with pytest.raises(ValueError, match="delimiter"):
        PersonName.from_parts(family=bad)


# ---------------------------------------------------------------- DA TM DT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20240105", date(2024, 1, 5)),
        ("2024.01.05", date(2024, 1, 5)),  # ACR-NEMA
        (" 20240105 ", date(2024, 1, 5)),
        ("00010101", date(1, 1, 1)),
    ],
)
def test_da_to_date(text, expected):
    assert DA(text).to_date() == expected


@pytest.mark.parametrize(
    "text", ["", "2024", "202401", "20241301", "20240230", "2024-01-05", "abc"]
)
def test_da_to_date_rejects(text):
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        DA(text).to_date()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10", time(10)),
        ("1030", time(10, 30)),
        ("103015", time(10, 30, 15)),
        ("103015.1", time(10, 30, 15, 100000)),
        ("103015.1234", time(10, 30, 15, 123400)),
        ("103015.123456", time(10, 30, 15, 123456)),
        ("103015.12345678", time(10, 30, 15, 123456)),  # extra digits truncated
        ("235960", time(23, 59, 59)),  # leap second clamped
        ("10:30:15", time(10, 30, 15)),  # ACR-NEMA
        ("10:30", time(10, 30)),
        ("103015 ", time(10, 30, 15)),
    ],
)
def test_tm_to_time(text, expected):
    assert TM(text).to_time() == expected


@pytest.mark.parametrize("text", ["", "1", "103", "2500", "1060", "10.5", "abc"])
def test_tm_to_time_rejects(text):
    with pytest.raises(ValueError, match="not a DICOM TM"):
        TM(text).to_time()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024", datetime(2024, 1, 1)),
        ("202403", datetime(2024, 3, 1)),
        ("20240305", datetime(2024, 3, 5)),
        ("2024030510", datetime(2024, 3, 5, 10)),
        ("202403051030", datetime(2024, 3, 5, 10, 30)),
        ("20240305103015.5", datetime(2024, 3, 5, 10, 30, 15, 500000)),
        (
            "20240305103015.123456+0130",
            datetime(2024, 3, 5, 10, 30, 15, 123456, timezone(timedelta(hours=1, minutes=30))),
        ),
        ("20240305-0500", datetime(2024, 3, 5, tzinfo=timezone(timedelta(hours=-5)))),
        ("2024+0000", datetime(2024, 1, 1, tzinfo=UTC)),
    ],
)
def test_dt_to_datetime(text, expected):
    result = DT(text).to_datetime()
    assert result == expected
    assert (result.tzinfo is None) == (expected.tzinfo is None)


@pytest.mark.parametrize("text", ["", "24", "20241", "20241301", "2024030525", "2024+05", "x"])
def test_dt_to_datetime_rejects(text):
    with pytest.raises(ValueError, match="not a DICOM DT"):
        DT(text).to_datetime()


def test_from_python_values():
    assert DA.from_date(date(2024, 1, 5)) == "20240105"
    assert DA(date(2024, 1, 5)) == "20240105"
    assert DA.from_date(datetime(2024, 1, 5, 10)) == "20240105"
    assert TM.from_time(time(10, 30)) == "103000"
    assert TM(time(10, 30, 15, 120)) == "103015.000120"
    assert DT.from_datetime(datetime(2024, 1, 5, 10, 30)) == "20240105103000"
    aware = datetime(2024, 1, 5, 10, 30, 15, 5, timezone(-timedelta(hours=3, minutes=30)))
    assert DT(aware) == "20240105103015.000005-0330"
    with pytest.raises(ValueError, match="whole number of minutes"):
        DT.from_datetime(datetime(2024, 1, 5, tzinfo=timezone(timedelta(seconds=30))))


def test_temporal_types_keep_text():
    assert DA("bad") == "bad"
    assert repr(DA("20240105")) == "DA('20240105')"
    assert repr(TM("10")) == "TM('10')"
    assert repr(DT("2024")) == "DT('2024')"
    assert isinstance(DA("20240105"), str)


@given(st.dates())
def test_da_round_trip(value):
    assert DA.from_date(value).to_date() == value


@given(st.times())
def test_tm_round_trip(value):
    assert TM.from_time(value).to_time() == value


_OFFSETS = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@given(st.datetimes(timezones=st.none() | _OFFSETS))
def test_dt_round_trip(value):
    result = DT.from_datetime(value).to_datetime()
    assert result == value
    assert result.utcoffset() == value.utcoffset()
