"""Tests for dicomframe.core.charset, with pydicom as the oracle on its charset files."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dicomframe.core.charset import decode_text, encode_text, normalize, python_codec
from dicomframe.core.vr import VR
from dicomframe.errors import CharsetWarning, EncodingError

pydicom = pytest.importorskip("pydicom")
from pydicom.dataelem import RawDataElement  # noqa: E402
from pydicom.multival import MultiValue  # noqa: E402

CHARSET_DIR = Path(pydicom.__file__).parent / "data" / "charset_files"
TEXT_VRS = {"LO", "LT", "PN", "SH", "ST", "UC", "UT"}
JAPANESE = ("", "ISO 2022 IR 87")
KOREAN = ("", "ISO 2022 IR 149")

# Files whose values are valid but not in the canonical form our encoder writes:
# - chrKoreanMulti ends each Korean run with ESC ( B although G0 never left ASCII
#   (a redundant designation); we do not write it.
# - chrSQEncoding/chrSQEncoding1 (made by pydicom) return to G0 with ESC ( B under
#   value 1 = ISO 2022 IR 13, whose G0 set is JIS X 0201 Romaji; like the example of
#   PS3.5 H.3.2 (chrH32) we return with ESC ( J.
NOT_CANONICAL = {"chrKoreanMulti", "chrSQEncoding", "chrSQEncoding1"}


def _oracle_text(value: object) -> str:
    """pydicom's decoded value as one string: values joined, each without its padding."""
    if value is None:
        return ""
    if isinstance(value, MultiValue):
        return "\\".join(str(v) for v in value)
    return str(value)


def _text_elements(ds, charsets: tuple[str, ...]) -> Iterator[tuple]:
    """Yield (charsets, tag, VR, raw bytes, pydicom's text) per charset-affected element.

    A sequence item uses its own (0008,0005) if it has one, else its parent's.
    """
    own = ds.get("SpecificCharacterSet")
    charsets = normalize(own) if own is not None else charsets
    for tag in list(ds.keys()):
        elem = ds.get_item(tag)
        if elem.VR == "SQ":
            for item in ds[tag].value:
                yield from _text_elements(item, charsets)
        elif elem.VR in TEXT_VRS and isinstance(elem, RawDataElement) and elem.value:
            yield charsets, str(tag), elem.VR, elem.value, _oracle_text(ds[tag].value)


def _cases() -> list[tuple[str, tuple[str, ...], str, str, bytes, str]]:
    cases = []
    for path in sorted(CHARSET_DIR.glob("*.dcm")):
        ds = pydicom.dcmread(path)
        for charsets, tag, vr, raw, expected in _text_elements(ds, ()):
            cases.append((path.stem, charsets, tag, vr, raw, expected))
    return cases


CASES = _cases()


def _unpadded(text: str, vr: str) -> str:
    """Our text as pydicom shows it: each value without padding; PN without empty last groups."""
    values = [value.rstrip(" ") for value in text.split("\\")]
    return "\\".join(value.rstrip("=") if vr == "PN" else value for value in values)


def test_reference_files_cover_many_sets():
    assert len({stem for stem, *_ in CASES}) >= 15
    assert {"ISO 2022 IR 87", "ISO 2022 IR 149", "GB18030", "ISO_IR 192", "ISO_IR 127"} <= {
        term for _, charsets, *_ in CASES for term in charsets
    }


@pytest.mark.parametrize(
    ("stem", "charsets", "tag", "vr", "raw", "expected"),
    CASES,
    ids=[f"{c[0]}-{c[2]}" for c in CASES],
)
def test_decode_matches_pydicom(stem, charsets, tag, vr, raw, expected):
    assert _unpadded(decode_text(raw, charsets, vr), vr) == expected


@pytest.mark.parametrize(
    ("stem", "charsets", "tag", "vr", "raw", "expected"),
    CASES,
    ids=[f"{c[0]}-{c[2]}" for c in CASES],
)
def test_round_trip(stem, charsets, tag, vr, raw, expected):
    text = decode_text(raw, charsets, vr)
    encoded = encode_text(text, charsets, vr)
    if stem in NOT_CANONICAL and b"\x1b" in raw:
        assert decode_text(encoded, charsets, vr) == text
    else:
        assert encoded == raw


def test_not_canonical_files_really_differ():
    differing = {
        stem
        for stem, charsets, _, vr, raw, _ in CASES
        if encode_text(decode_text(raw, charsets, vr), charsets, vr) != raw
    }
    assert differing == NOT_CANONICAL


# normalize and python_codec


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ("", ()),
        ("  ", ()),
        ([], ()),
        ("ISO_IR 100", ("ISO_IR 100",)),
        ("ISO_IR 100 ", ("ISO_IR 100",)),
        ("ISO_IR 192\x00", ("ISO_IR 192",)),
        ("\\ISO 2022 IR 87", ("", "ISO 2022 IR 87")),
        (["", "ISO 2022 IR 87"], ("", "ISO 2022 IR 87")),
        ("ISO 2022 IR 13\\ISO 2022 IR 87", ("ISO 2022 IR 13", "ISO 2022 IR 87")),
        ("ISO 2022 IR 6\\\\ISO 2022 IR 87", ("ISO 2022 IR 6", "ISO 2022 IR 87")),
        ("ISO_IR_100", ("ISO_IR 100",)),
        ("ISO IR 100", ("ISO_IR 100",)),
        ("ISO-IR 192", ("ISO_IR 192",)),
        ("ISO_IR100", ("ISO_IR 100",)),
        ("iso_ir 144", ("ISO_IR 144",)),
        ("ISO_2022_IR_87", ("ISO 2022 IR 87",)),
        ("ISO2022IR149", ("ISO 2022 IR 149",)),
        ("ISO 2022 IR100", ("ISO 2022 IR 100",)),
        ("ISO_IR 87", ("ISO 2022 IR 87",)),
        ("UTF-8", ("ISO_IR 192",)),
        ("utf8", ("ISO_IR 192",)),
        ("gb18030", ("GB18030",)),
        ("GB2312", ("GBK",)),
        ("ISO 2022 GBK", ("GBK",)),
        ("ISO 2022 58", ("ISO 2022 IR 58",)),
        ("ISO-8859-1", ("ISO_IR 100",)),
        ("ISO8859-5", ("ISO_IR 144",)),
        ("ISO_8859-15", ("ISO_IR 203",)),
        ("Klingon", ("Klingon",)),
    ],
)
def test_normalize(value, expected):
    assert normalize(value) == expected


@pytest.mark.parametrize(
    ("term", "codec"),
    [
        ("", "ascii"),
        ("ISO_IR 6", "ascii"),
        ("ISO_IR 100", "latin_1"),
        ("ISO 2022 IR 100", "latin_1"),
        ("ISO_IR 144", "iso8859_5"),
        ("ISO_IR 166", "iso8859_11"),
        ("ISO_IR 203", "iso8859_15"),
        ("ISO_IR 13", "shift_jis"),
        ("ISO 2022 IR 87", "iso2022_jp"),
        ("ISO 2022 IR 159", "iso2022_jp_1"),
        ("ISO 2022 IR 149", "euc_kr"),
        ("ISO 2022 IR 58", "gb2312"),
        ("ISO_IR 192", "utf_8"),
        ("GB18030", "gb18030"),
        ("GBK", "gbk"),
        ("utf-8", "utf_8"),
        ("Klingon", None),
    ],
)
def test_python_codec(term, codec):
    assert python_codec(term) == codec


# single-byte sets, with and without code extensions

SINGLE_BYTE = [
    ("ISO_IR 100", "latin_1", "Buc^Jérôme"),
    ("ISO_IR 101", "iso8859_2", "Łódź^Wałęsa"),
    ("ISO_IR 109", "iso8859_3", "Ħaġar^Ġorġ"),
    ("ISO_IR 110", "iso8859_4", "Ķēniņš"),
    ("ISO_IR 126", "iso8859_7", "Διονυσιος"),
    ("ISO_IR 127", "iso8859_6", "قباني^لنزار"),
    ("ISO_IR 138", "iso8859_8", "שרון^דבורה"),
    ("ISO_IR 144", "iso8859_5", "Иванов^Пётр"),
    ("ISO_IR 148", "iso8859_9", "Şişli^Ğüzel"),
    ("ISO_IR 166", "iso8859_11", "ภาษาไทย"),
    ("ISO_IR 203", "iso8859_15", "Œuvre^€"),
]


@pytest.mark.parametrize(("term", "codec", "text"), SINGLE_BYTE, ids=[c[0] for c in SINGLE_BYTE])
def test_single_byte_set(term, codec, text):
    raw = text.encode(codec)
    assert max(raw) >= 0xA0
    assert decode_text(raw, (term,), VR.PN) == text
    assert encode_text(text, (term,), VR.PN) == raw


@pytest.mark.parametrize(("term", "codec", "text"), SINGLE_BYTE, ids=[c[0] for c in SINGLE_BYTE])
def test_single_byte_set_with_code_extensions(term, codec, text):
    # PS3.3 Table C.12-3: with value 1 = ISO 2022 IR 6, the set must be designated to G1.
    extended = term.replace("ISO_IR", "ISO 2022 IR")
    charsets = ("", extended)
    raw = encode_text(text, charsets, VR.LO)
    assert raw.count(b"\x1b-") == 1  # designated once: ^ is no delimiter in LO
    assert decode_text(raw, charsets, VR.LO) == text
    # As value 1, the set is in G1 from the start: no escape sequence at all.
    assert encode_text(text, (extended,), VR.LO) == text.encode(codec)


def test_iso_ir_13_katakana_alone():
    raw = b"\xd4\xcf\xc0\xde^\xc0\xdb\xb3"
    assert decode_text(raw, ("ISO_IR 13",), VR.PN) == "ﾔﾏﾀﾞ^ﾀﾛｳ"
    assert encode_text("ﾔﾏﾀﾞ^ﾀﾛｳ", ("ISO_IR 13",), VR.PN) == raw
    # Shift_JIS would read 0xE0 0xA1 as a kanji; ISO-IR 13 has no such byte.
    with pytest.warns(CharsetWarning, match="not valid ISO_IR 13"):
        assert decode_text(b"\xe0\xa1", ("ISO_IR 13",), VR.LO) == "\xe0｡"
    with pytest.raises(EncodingError, match="山"):
        encode_text("山", ("ISO_IR 13",), VR.LO)


def test_greek_switches_g1_and_resets_after_pn_delimiters():
    charsets = ("ISO 2022 IR 100", "ISO 2022 IR 126")
    text = "Dupont^Διο^Jérôme=Δ"
    raw = encode_text(text, charsets, VR.PN)
    # Value 1 (latin-1 in G1) is active again after each delimiter, so each Greek
    # component designates the Greek set again, and é needs no escape.
    assert raw == b"Dupont^\x1b-F\xc4\xe9\xef^J\xe9r\xf4me=\x1b-F\xc4"
    assert decode_text(raw, charsets, VR.PN) == text
    # ISO_IR n spelt without extensions in a multi-valued set is read as ISO 2022 IR n.
    assert decode_text(raw, ("ISO_IR 100", "ISO_IR 126"), VR.PN) == text


# multi-byte sets without code extensions


def test_utf8():
    text = "Wang^XiaoDong=王^小東="
    raw = text.encode("utf-8")
    assert decode_text(raw, ("ISO_IR 192",), VR.PN) == text
    assert encode_text(text, ("ISO_IR 192",), VR.PN) == raw
    assert encode_text("🙂 Ωμέγα", ("ISO_IR 192",), VR.LT) == "🙂 Ωμέγα".encode()


def test_utf8_declared_but_latin1_given_warns_and_keeps_bytes():
    with pytest.warns(CharsetWarning, match="not valid ISO_IR 192.*latin-1"):
        text = decode_text(b"J\xe9r\xf4me\\Caf\xc3\xa9", ("ISO_IR 192",), VR.LO)
    assert text == "Jérôme\\Café"
    # Re-encoding writes the characters properly, in UTF-8.
    assert encode_text(text, ("ISO_IR 192",), VR.LO) == "Jérôme\\Café".encode()


def test_gb18030():
    raw = b"Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab="
    assert decode_text(raw, ("GB18030",), VR.PN) == "Wang^XiaoDong=王^小东="
    # A four-byte GB18030 character: in GB18030, not in GBK.
    rare = "\U00020000"
    assert decode_text(rare.encode("gb18030"), ("GB18030",), VR.LO) == rare
    assert encode_text(rare, ("GB18030",), VR.LO) == rare.encode("gb18030")
    with pytest.raises(EncodingError, match=r"U\+20000.*GBK"):
        encode_text(rare, ("GBK",), VR.LO)


@pytest.mark.parametrize("term", ["GBK", "GB18030"])
def test_gbk_trail_byte_0x5c_is_not_a_delimiter(term):
    # 乗 is 0x81 0x5C: a value split on backslash bytes before decoding would break it.
    raw = "乗\\王".encode("gbk")
    assert raw == b"\x81\\\\\xcd\xf5"
    text = decode_text(raw, (term,), VR.LO)
    assert text == "乗\\王"
    assert text.split("\\") == ["乗", "王"]
    assert encode_text(text, (term,), VR.LO) == raw


# Japanese, Korean, Chinese with code extensions


def test_japanese_ir_87():
    raw = b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B"
    text = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    assert decode_text(raw, JAPANESE, VR.PN) == text
    assert encode_text(text, JAPANESE, VR.PN) == raw
    assert encode_text(text, ("ISO 2022 IR 6", "ISO 2022 IR 87"), VR.PN) == raw


def test_japanese_ir_13_and_87_mixed():
    # PS3.5 H.3.2: katakana in G1 (no escape), kanji in G0, Romaji as the initial G0.
    charsets = ("ISO 2022 IR 13", "ISO 2022 IR 87")
    raw = (
        b"\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J="
        b"\x1b$B$d$^$@\x1b(J^\x1b$B$?$m$&\x1b(J"
    )
    text = "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう"
    assert decode_text(raw, charsets, VR.PN) == text
    assert encode_text(text, charsets, VR.PN) == raw
    # Katakana straight after kanji: G1 needs no escape, G0 stays JIS X 0208.
    mixed = encode_text("山ｱ田", charsets, VR.LO)
    assert mixed == b"\x1b$B;3\xb1ED\x1b(J"
    assert decode_text(mixed, charsets, VR.LO) == "山ｱ田"


def test_japanese_ir_159_supplementary_kanji():
    charsets = ("", "ISO 2022 IR 87", "ISO 2022 IR 159")
    raw = encode_text("丂山", charsets, VR.LO)  # 丂 is only in JIS X 0212
    assert raw == b"\x1b$(D0!\x1b$B;3\x1b(B"
    assert decode_text(raw, charsets, VR.LO) == "丂山"


def test_older_jis_escape_is_read():
    assert decode_text(b"\x1b$@;3ED\x1b(B", JAPANESE, VR.LO) == "山田"


def test_kanji_bytes_that_look_like_delimiters():
    # 0x3D ('=') and 0x5E ('^') lead kanji in JIS X 0208: in two-byte mode they are
    # characters, not PN delimiters.
    text = "宗=沺^棔"  # JIS X 0208 0x3D21, 0x5E21, 0x5C21
    raw = encode_text(text, JAPANESE, VR.PN)
    assert raw == b"\x1b$B=!\x1b(B=\x1b$B^!\x1b(B^\x1b$B\\!\x1b(B"
    assert decode_text(raw, JAPANESE, VR.PN) == text


def test_korean_ir_149():
    raw = (
        b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7="
        b"\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf"
    )
    text = "Hong^Gildong=洪^吉洞=홍^길동"
    assert decode_text(raw, KOREAN, VR.PN) == text
    assert encode_text(text, KOREAN, VR.PN) == raw


def test_chinese_ir_58():
    charsets = ("", "ISO 2022 IR 58")
    raw = b"Wang^XiaoDong=\x1b$)A\xcd\xf5^\x1b$)A\xd0\xa1\xb6\xab="
    assert decode_text(raw, charsets, VR.PN) == "Wang^XiaoDong=王^小东="
    assert encode_text("Wang^XiaoDong=王^小东=", charsets, VR.PN) == raw


# PS3.5 6.1.2.5.3: which delimiters reset the character set depends on the VR


def test_pn_delimiters_reset_g1_but_lo_keeps_it():
    assert encode_text("洪^吉", KOREAN, VR.PN) == b"\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce"
    assert encode_text("洪^吉", KOREAN, VR.LO) == b"\x1b$)C\xfb\xf3^\xd1\xce"
    assert decode_text(b"\x1b$)C\xfb\xf3^\xd1\xce", KOREAN, VR.LO) == "洪^吉"
    # In PN the ^ resets G1, so the next GR bytes have no set: warned, kept as latin-1.
    with pytest.warns(CharsetWarning, match="not valid"):
        assert decode_text(b"\x1b$)C\xfb\xf3^\xd1\xce", KOREAN, VR.PN) == "洪^\xd1\xce"


def test_control_characters_reset_text_but_not_pn():
    assert encode_text("洪\r\n吉", KOREAN, VR.LT) == b"\x1b$)C\xfb\xf3\r\n\x1b$)C\xd1\xce"
    assert encode_text("洪\\吉", KOREAN, VR.LO) == b"\x1b$)C\xfb\xf3\\\x1b$)C\xd1\xce"
    assert encode_text("洪\t吉", KOREAN, VR.PN) == b"\x1b$)C\xfb\xf3\t\xd1\xce"
    assert decode_text(b"\x1b$)C\xfb\xf3\t\xd1\xce", KOREAN, VR.PN) == "洪\t吉"
    with pytest.warns(CharsetWarning):
        decode_text(b"\x1b$)C\xfb\xf3\t\xd1\xce", KOREAN, VR.ST)


def test_g0_returns_before_each_delimiter():
    raw = encode_text("山\\田", JAPANESE, "LO")
    assert raw == b"\x1b$B;3\x1b(B\\\x1b$BED\x1b(B"
    assert decode_text(raw, JAPANESE, "LO") == "山\\田"
    # A delimiter after an ASCII run needs no escape at all.
    assert encode_text("a\\b", JAPANESE, VR.LO) == b"a\\b"


def test_vr_without_charset_is_ascii_with_latin1_fallback():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert decode_text(b"1.2.3\x00", KOREAN, VR.UI) == "1.2.3\x00"
        assert decode_text(b"M\xc4", ("ISO_IR 192",), VR.CS) == "MÄ"
        assert decode_text(b"\x1b$)C\xfb\xf3", KOREAN, "CS") == "\x1b$)C\xfb\xf3"
    assert encode_text("MÄ", ("ISO_IR 192",), VR.CS) == b"M\xc4"
    with pytest.raises(EncodingError):
        encode_text("山", JAPANESE, VR.CS)


# leniency and errors


def test_default_repertoire_with_non_ascii_bytes_warns():
    with pytest.warns(CharsetWarning, match="not valid ISO_IR 6"):
        assert decode_text(b"Buc^J\xe9r\xf4me", (), VR.PN) == "Buc^Jérôme"
    assert decode_text(b"Buc^Jerome", (), VR.PN) == "Buc^Jerome"
    with pytest.raises(EncodingError, match=r"'é' \(U\+00E9\).*ISO_IR 6"):
        encode_text("Jérôme", (), VR.PN)


def test_unknown_term_warns_once_and_falls_back_losslessly():
    raw = b"Buc^J\xe9r\xf4me\\Caf\xe9"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text = decode_text(raw, ("ISO_IR 999",), VR.PN)
    assert [str(w.message) for w in caught if "ISO_IR 999" in str(w.message)] == [
        str(caught[0].message)
    ]
    assert len(caught) == 1
    assert issubclass(caught[0].category, CharsetWarning)
    assert "latin-1 so nothing is lost" in str(caught[0].message)
    assert text == "Buc^Jérôme\\Café"
    with pytest.warns(CharsetWarning, match="ISO_IR 999"):
        assert encode_text(text, ("ISO_IR 999",), VR.PN) == raw


def test_unknown_term_among_code_extensions_is_ignored():
    with pytest.warns(CharsetWarning, match="'ISO 2022 IR 999'"):
        text = decode_text(b"\x1b$B;3ED\x1b(B", ("", "ISO 2022 IR 999", "ISO 2022 IR 87"), "PN")
    assert text == "山田"


def test_standalone_set_with_code_extensions_warns():
    with pytest.warns(CharsetWarning, match="ISO_IR 192 allows no code extensions"):
        assert decode_text("王".encode(), ("ISO_IR 192", "ISO 2022 IR 87"), VR.LO) == "王"
    with pytest.warns(CharsetWarning, match="GB18030 allows no code extensions"):
        text = decode_text(b"\x1b$B;3\x1b(B", ("", "ISO 2022 IR 87", "GB18030"), VR.LO)
    assert text == "山"


def test_unknown_escape_sequence_is_kept_as_text():
    with pytest.warns(CharsetWarning, match="not valid"):
        text = decode_text(b"a\x1b$(Qb", JAPANESE, VR.LO)
    assert text == "a\x1b$(Qb"


def test_invalid_jis_pair_and_odd_byte_are_kept():
    # 0x7E7E is not in JIS X 0208 and a lone ';' is half a character: both kept as latin-1.
    with pytest.warns(CharsetWarning, match="not valid"):
        text = decode_text(b"\x1b$B;3\x7e\x7e;\x1b(B", JAPANESE, VR.LO)
    assert text == "山~~;"


def test_encoding_error_names_character_and_sets():
    with pytest.raises(EncodingError, match=r"'王' \(U\+738B\).*ISO_IR 100"):
        encode_text("Wang^王", ("ISO_IR 100",), VR.PN)
    with pytest.raises(EncodingError, match=r"'한'.*ISO 2022 IR 87") as info:
        encode_text("山한", JAPANESE, VR.PN)
    assert isinstance(info.value, ValueError)
    assert "index 1" in str(info.value)


def test_first_declared_set_wins():
    # 王 is in both KS X 1001 and GB 2312: the first declared set that has it is used.
    assert encode_text("王", ("", "ISO 2022 IR 149", "ISO 2022 IR 58"), VR.LO).startswith(
        b"\x1b$)C"
    )
    assert encode_text("王", ("", "ISO 2022 IR 58", "ISO 2022 IR 149"), VR.LO).startswith(
        b"\x1b$)A"
    )


def test_empty_and_padding():
    assert decode_text(b"", JAPANESE, VR.PN) == ""
    assert encode_text("", JAPANESE, VR.PN) == b""
    assert encode_text("山 ", JAPANESE, VR.LO) == b"\x1b$B;3\x1b(B "


# property: whatever the declared sets can hold comes back unchanged

ALPHABET = "Az09 .-^=\\\r\nｱｶﾞ山田太郎やまだカナ홍길동洪吉éüÄßΔιονυσ"  # noqa: RUF001
MIXED = (
    "ISO 2022 IR 13",
    "ISO 2022 IR 87",
    "ISO 2022 IR 149",
    "ISO 2022 IR 100",
    "ISO 2022 IR 126",
)


@given(text=st.text(alphabet=ALPHABET, max_size=40), vr=st.sampled_from(["PN", "LO", "LT"]))
def test_iso2022_round_trip_property(text, vr):
    raw = encode_text(text, MIXED, vr)
    assert decode_text(raw, MIXED, vr) == text
    # The encoder never leaves a value outside value 1's G0 set at a delimiter or the end.
    assert not raw.endswith((b"\x1b$B", b"\x1b$)C"))
