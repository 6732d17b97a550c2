"""Tests for the PS3.6 data dictionary lookups (dicomframe.core.dictionary)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from dicomframe.core import dictionary
from dicomframe.core._dictionary_data import REPEATER_MASKS, REPEATERS
from dicomframe.core.dictionary import (
    DictEntry,
    entries,
    is_retired,
    keyword_for,
    lookup,
    name_for,
    tag_for_keyword,
    vr_for,
)

ENTRIES = entries()

# (tag, vr, vm, keyword, retired): facts from PS3.6 / PS3.7
KNOWN = [
    (0x00000000, "UL", "1", "CommandGroupLength", False),
    (0x00020000, "UL", "1", "FileMetaInformationGroupLength", False),
    (0x00020010, "UI", "1", "TransferSyntaxUID", False),
    (0x00080016, "UI", "1", "SOPClassUID", False),
    (0x00080018, "UI", "1", "SOPInstanceUID", False),
    (0x00100010, "PN", "1", "PatientName", False),
    (0x00100020, "LO", "1", "PatientID", False),
    (0x00200032, "DS", "3", "ImagePositionPatient", False),
    (0x00280002, "US", "1", "SamplesPerPixel", False),
    (0x00280004, "CS", "1", "PhotometricInterpretation", False),
    (0x00280008, "IS", "1", "NumberOfFrames", False),
    (0x00280010, "US", "1", "Rows", False),
    (0x00280030, "DS", "2", "PixelSpacing", False),
    (0x00280100, "US", "1", "BitsAllocated", False),
    (0x00280103, "US", "1", "PixelRepresentation", False),
    (0x00280106, "US or SS", "1", "SmallestImagePixelValue", False),
    (0x00281101, "US or SS", "3", "RedPaletteColorLookupTableDescriptor", False),
    (0x00283006, "US or OW", "1-n", "LUTData", False),
    (0x00281200, "US or SS or OW", "1-n", "GrayLookupTableData", True),
    (0x00540081, "US", "1", "NumberOfSlices", False),
    (0x52009229, "SQ", "1", "SharedFunctionalGroupsSequence", False),
    (0x7FE00001, "OV", "1", "ExtendedOffsetTable", False),
    (0x7FE00008, "OF", "1", "FloatPixelData", False),
    (0x7FE00010, "OB or OW", "1", "PixelData", False),
    (0xFFFEE000, "NONE", "1", "Item", False),
    (0xFFFCFFFC, "OB", "1", "DataSetTrailingPadding", False),
]


@pytest.mark.parametrize(
    ("tag", "vr", "vm", "keyword", "retired"), KNOWN, ids=[k[3] for k in KNOWN]
)
def test_known_entries(tag: int, vr: str, vm: str, keyword: str, retired: bool) -> None:
    entry = lookup(tag)
    assert entry is not None
    assert (entry.tag, entry.vr, entry.vm, entry.keyword, entry.retired) == (
        tag,
        vr,
        vm,
        keyword,
        retired,
    )
    assert vr_for(tag) == vr.split(" or ", maxsplit=1)[0]
    assert keyword_for(tag) == keyword
    assert tag_for_keyword(keyword) == tag
    assert is_retired(tag) is retired


def test_patient_name() -> None:
    assert lookup(0x00100010) == DictEntry(
        0x00100010, "PN", "1", "Patient's Name", "PatientName", False
    )
    assert name_for(0x00100010) == "Patient's Name"


@pytest.mark.parametrize(
    ("vr", "expected"),
    [
        ("PN", ("PN",)),
        ("US or SS", ("US", "SS")),
        ("OB or OW", ("OB", "OW")),
        ("US or SS or OW", ("US", "SS", "OW")),
        ("NONE", ("NONE",)),
    ],
)
def test_vrs_splits_ambiguous(vr: str, expected: tuple[str, ...]) -> None:
    assert DictEntry(0, vr, "1", "", "", False).vrs == expected


def test_ambiguous_vr_first_choice() -> None:
    assert vr_for(0x7FE00010) == "OB"
    assert vr_for(0x00280106) == "US"
    assert vr_for(0x00281200) == "US"
    assert vr_for(0xFFFEE0DD) == "NONE"


@pytest.mark.parametrize(
    ("tag", "keyword", "vr"),
    [
        (0x60003000, "OverlayData", "OB or OW"),
        (0x60023000, "OverlayData", "OB or OW"),
        (0x601E3000, "OverlayData", "OB or OW"),
        (0x60000010, "OverlayRows", "US"),
        (0x60FE0050, "OverlayOrigin", "SS"),
        (0x50000010, "NumberOfPoints", "US"),
        (0x5002200C, "AudioSampleData", "OB or OW"),
        (0x7F020010, "VariablePixelData", "OB or OW"),
        (0x10000000, "EscapeTriplet", "US"),
        (0x10001230, "EscapeTriplet", "US"),
        (0x10001235, "ShiftTableTriplet", "US"),
        (0x1010ABCD, "ZonalMap", "US"),
        (0x002031FF, "SourceImageIDs", "CS"),
        (0x00280410, "RowsForNthOrderCoefficients", "US"),
        (0x00280883, "CodeTableLocation", "AT"),
    ],
)
def test_repeating_groups(tag: int, keyword: str, vr: str) -> None:
    entry = lookup(tag)
    assert entry is not None
    assert entry.tag == tag  # the tag asked about, not the pattern
    assert (entry.keyword, entry.vr) == (keyword, vr)
    # repeater keywords name no single tag
    assert tag_for_keyword(keyword) is None


def test_overlay_data_facts() -> None:
    assert lookup(0x60023000) == DictEntry(
        0x60023000, "OB or OW", "1", "Overlay Data", "OverlayData", False
    )
    assert is_retired(0x50003000)  # curves are retired


@pytest.mark.parametrize("tag", [0x60013000, 0x50010010, 0x7F010010, 0x10011230])
def test_repeaters_skip_odd_groups(tag: int) -> None:
    # odd groups are private (PS3.5 7.8.1): (6001,3000) is private data, not Overlay Data,
    # and (5001,0010) is a private creator, not Number of Points
    entry = lookup(tag)
    assert entry is None or entry.name == "Private Creator"
    assert keyword_for(tag) == ""


def test_exact_entry_beats_repeater() -> None:
    # (7FE0,0010) also matches (7Fxx,0010) Variable Pixel Data
    assert keyword_for(0x7FE00010) == "PixelData"


@pytest.mark.parametrize("tag", [0x00090010, 0x00090011, 0x001100FF, 0x7FE10010, 0xFFFD0010])
def test_private_creator(tag: int) -> None:
    entry = lookup(tag)
    assert entry == DictEntry(tag, "LO", "1", "Private Creator", "", False)
    assert vr_for(tag) == "LO"
    assert keyword_for(tag) == ""


@pytest.mark.parametrize(
    "tag",
    [
        0x00111010,  # private data element
        0x00091000,
        0x0009000F,  # below the private creator block
        0x00090100,
        0x00070010,  # groups 0001-0007 cannot be private (PS3.5 7.8.1)
        0xFFFF0010,
    ],
)
def test_private_and_illegal_unknown(tag: int) -> None:
    assert lookup(tag) is None
    assert vr_for(tag) == "UN"
    assert keyword_for(tag) == ""
    assert name_for(tag) == "Private tag data"
    assert not is_retired(tag)


@pytest.mark.parametrize("tag", [0x00100001, 0x00080FFF, 0x7FE0FFFF])
def test_unknown_public(tag: int) -> None:
    assert lookup(tag) is None
    assert vr_for(tag) == "UN"
    assert name_for(tag) == "Unknown"


@pytest.mark.parametrize("tag", [-1, -0x7FE00010, 0x1_0000_0000, 0x1_6000_3000])
def test_out_of_range(tag: int) -> None:
    assert lookup(tag) is None
    assert vr_for(tag) == "UN"


@pytest.mark.parametrize("tag", [0x00080000, 0x00280000, 0x60000000, 0x00090000])
def test_generic_group_length(tag: int) -> None:
    assert lookup(tag) == DictEntry(tag, "UL", "1", "Group Length", "GroupLength", True)
    assert tag_for_keyword("GroupLength") is None


def test_tag_subclass_accepted() -> None:
    from dicomframe.core.tag import Tag

    entry = lookup(Tag(0x0010, 0x0010))
    assert entry is not None
    assert type(entry.tag) is int
    assert entry.keyword == "PatientName"


def test_keyword_round_trip_all_entries() -> None:
    seen: set[str] = set()
    for tag, (_vr, _vm, _name, keyword, _retired) in ENTRIES.items():
        if keyword:
            assert keyword not in seen
            seen.add(keyword)
            assert tag_for_keyword(keyword) == tag
            assert keyword_for(tag) == keyword
    assert len(seen) > 5000


@pytest.mark.parametrize("keyword", ["", "patientname", "NotAKeyword", "PatientName "])
def test_tag_for_keyword_unknown(keyword: str) -> None:
    assert tag_for_keyword(keyword) is None


def test_data_shape() -> None:
    vrs = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD"}
    vrs |= {"OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI"}
    vrs |= {"UL", "UN", "UR", "US", "UT", "UV", "NONE"}
    for table in (ENTRIES, REPEATERS):
        for vr, vm, _name, _keyword, retired in table.values():
            assert set(vr.split(" or ")) <= vrs
            assert re.fullmatch(r"\d+(-(\d*n|\d+))?", vm), vm
            assert isinstance(retired, bool)
    for mask, value in REPEATERS:
        assert mask in REPEATER_MASKS
        assert value & ~mask == 0
    assert list(ENTRIES) == sorted(ENTRIES)


# -- comparison with DCMTK's dictionary ---------------------------------------

# DCMTK writes ambiguous VRs as internal pseudo-VRs (dcmdata/dcvr.h).
DCMTK_VRS = {
    "xs": "US or SS",
    "ox": "OB or OW",
    "px": "OB or OW",
    "lt": "US or SS or OW",
    "up": "UL",
    "na": "NONE",
}
# Known, understood differences: tag -> why.
DCMTK_DIFFERENCES = {
    # PS3.6 lists "US or OW"; DCMTK's "lt" pseudo-VR also lets SS through for LUT data.
    0x00283006: "LUTData: PS3.6 'US or OW', DCMTK 'lt' (US, SS or OW)",
}
_DCMTK_LINE = re.compile(r"\(([0-9A-F]{4}),([0-9A-F]{4})\)\t(\w+)\t(\w+)\t[^\t]+\t(\S+)")
# "(6000-60FF,3000)": a repeating group, even groups only in DCMTK's default notation
_DCMTK_RANGE = re.compile(
    r"\(([0-9A-F]{4})-([0-9A-F]{4}),([0-9A-F]{4})\)\t(\w+)\t(\w+)\t[^\t]+\tDICOM"
)


def _dcmtk_dictionary() -> Path:
    candidates = sorted(Path("/usr/share").glob("libdcmtk*/dicom.dic"))
    if not candidates:
        try:
            listing = subprocess.run(
                ["dpkg", "-L", "libdcmtk17"], capture_output=True, text=True, check=False
            ).stdout
        except OSError:
            listing = ""
        candidates = [Path(p) for p in listing.split() if p.endswith("/dicom.dic")]
    if not candidates:
        pytest.skip("DCMTK's dicom.dic is not installed")
    return candidates[-1]


def test_agrees_with_dcmtk() -> None:
    compared = 0
    mismatches = []
    for line in _dcmtk_dictionary().read_text(encoding="utf-8").splitlines():
        match = _DCMTK_LINE.fullmatch(line)
        if match is None or match[5] != "DICOM":  # only current, exact DICOM tags
            continue
        tag = int(match[1] + match[2], 16)
        data = ENTRIES.get(tag)
        if data is None or tag in DCMTK_DIFFERENCES:
            continue
        compared += 1
        dcmtk_vr = DCMTK_VRS.get(match[3], match[3])
        if (data[0], data[3]) != (dcmtk_vr, match[4]):
            mismatches.append(f"({tag:08X}) ours {data[0]} {data[3]}, DCMTK {dcmtk_vr} {match[4]}")
    assert compared > 4000
    assert mismatches == []


def test_repeaters_agree_with_dcmtk() -> None:
    compared = 0
    for line in _dcmtk_dictionary().read_text(encoding="utf-8").splitlines():
        match = _DCMTK_RANGE.fullmatch(line)
        if match is None:
            continue
        first, last, element = (int(part, 16) for part in match.group(1, 2, 3))
        for group in (first, first + 2, last - 1):
            entry = lookup(group << 16 | element)
            assert entry is not None, line
            assert (entry.vr, entry.keyword) == (DCMTK_VRS.get(match[4], match[4]), match[5])
            compared += 1
    assert compared > 40


def test_text_search_matches_the_parsed_table() -> None:
    """Before the table is parsed, lookups search its text; both must agree on every entry."""
    for tag, data in ENTRIES.items():
        assert dictionary._search_tag(tag) == data
        if data[3]:
            assert dictionary._search_keyword(data[3]) == tag, data[3]
    for missing in (0x00100011, 0x00010000, 0xFFFFFFFF, 0x7FE00011, -1, 1 << 32):
        assert dictionary._search_tag(missing) == ENTRIES.get(missing)
    for word in ("", "Patient", "PatientNam", "atientName", "Patient's Name", "R", "|", "1"):
        assert dictionary._search_keyword(word) is None, word


def test_the_table_is_parsed_only_after_many_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    """A few attributes cost a few searches; a dump's worth parses the table once."""
    table = dictionary._Table()
    monkeypatch.setattr(dictionary, "_TABLE", table)
    assert tag_for_keyword("PatientID") == 0x00100020
    assert vr_for(0x00100010) == "PN"
    assert (table.entries, table.searches) == (None, 2)
    tags = list(ENTRIES)[: dictionary._SEARCHES_BEFORE_PARSE]
    for tag in tags:
        keyword_for(tag)
    assert table.entries is not None
    assert tag_for_keyword("PatientID") == 0x00100020
    assert lookup(0x7FE00010) == DictEntry(0x7FE00010, *ENTRIES[0x7FE00010])


# -- the private dictionary ---------------------------------------------------


def _example_tag(key: str) -> int:
    """A tag a key matches: block 0x10 for ``xx``, group 0x..09 and block 0x10 for ``xxxx``."""
    return int(key.replace("xxxx", "0910").replace("xx", "10"), 16)


def test_private_lookup_agrees_with_pydicom_on_every_entry() -> None:
    pydicom_datadict = pytest.importorskip("pydicom.datadict")
    from pydicom._private_dict import private_dictionaries

    from dicomframe.core._private_data import TABLE

    compared = 0
    for line in TABLE.strip("\n").split("\n"):
        if line.startswith("@"):
            creator = line[1:]
            continue
        key = line.split("|", 1)[0]
        tag = _example_tag(key)
        entry = dictionary.private_lookup(creator, tag)
        assert entry is not None, (creator, key)
        vr, vm, name, retired = pydicom_datadict.get_private_entry(tag, creator)
        assert (entry.vr, entry.vm, entry.name, entry.retired) == (
            vr.replace("_", " or "),
            vm,
            name,
            bool(retired),
        ), (creator, key)
        assert entry.tag == tag
        assert entry.creator == creator
        compared += 1
    # Every entry pydicom can find is here; the few it spells so no lookup finds them are not.
    listed = sum(len(entries) for entries in private_dictionaries.values())
    assert listed - 20 < compared <= listed
    assert len(dictionary.private_creators()) > 400


@pytest.mark.parametrize(
    ("creator", "tag", "vr", "name", "keyword"),
    [
        ("GEMS_ACQU_01", 0x00191004, "DS", "Cell spacing", "CellSpacing"),
        ("GEMS_ACQU_01", 0x00193004, "DS", "Cell spacing", "CellSpacing"),  # another block
        ("GEMS_ACQU_01 ", 0x00191004, "DS", "Cell spacing", "CellSpacing"),  # LO padding
        ("GEMS_IDEN_01", 0x00091001, "LO", "Full fidelity", "FullFidelity"),
        ("PAPYRUS 3.0", 0x60031000, "IS", "Overlay ID", "OverlayID"),  # 60xxxx00
        ("CANON_MEC_MR3^10", 0x00190001, "UL", "Unknown", "Unknown"),  # an exact key
        ("FDMS 1.0", 0x002710A3, "US or SS", "Raw Data", "RawData"),
        ("TOSHIBA_MEC_OT3", 0x70191080, "OB or OW", None, None),  # pydicom spells it OB_OW
    ],
)
def test_private_lookup(creator: str, tag: int, vr: str, name: str, keyword: str) -> None:
    entry = dictionary.private_lookup(creator, tag)
    assert entry is not None
    assert entry.vr == vr
    assert entry.vrs == tuple(vr.split(" or "))
    if name is not None:
        assert (entry.name, entry.keyword) == (name, keyword)
    assert entry.creator == creator.strip()


@pytest.mark.parametrize(
    ("creator", "tag"),
    [
        ("GEMS_ACQU_01", 0x00191000),  # not an element of that creator
        ("gems_acqu_01", 0x00191004),  # creators are case-sensitive
        ("NO SUCH CREATOR", 0x00191004),
        ("GEMS_ACQU_01", 0x00211004),  # the creator's element, in another group
        ("", 0x00191004),
        ("GEMS_ACQU_01", -1),
        ("GEMS_ACQU_01", 1 << 32),
        ("GEMS_IDEN_01", 0x00091010),  # pydicom's "000910xx": its block byte is misplaced
    ],
)
def test_private_lookup_unknown(creator: str, tag: int) -> None:
    assert dictionary.private_lookup(creator, tag) is None


def test_private_data_loads_on_the_first_private_lookup_only() -> None:
    """``import dicomframe`` and reading an Explicit VR file with private elements (values and
    all) never import the private table; naming a private element (a dump) does."""
    ct = Path(pytest.importorskip("pydicom.data").get_testdata_file("CT_small.dcm"))
    code = (
        "import sys, dicomframe as dcf\n"
        "name = 'dicomframe.core._private_data'\n"
        "seen = [name in sys.modules]\n"
        f"ds = dcf.read({str(ct)!r}); ds.load(); [e.value for e in ds]\n"
        "seen.append(name in sys.modules)\n"
        "repr(ds)\n"
        "print(*seen, name in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False", "True"]


def test_private_data_is_up_to_date() -> None:
    pytest.importorskip("pydicom")
    tool = Path(__file__).resolve().parents[2] / "tools" / "gen_private_dictionary.py"
    result = subprocess.run(
        [sys.executable, str(tool), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
    assert "up to date" in result.stdout


def test_private_data_shape() -> None:
    from dicomframe.core._private_data import TABLE

    vrs = {vr for data in ENTRIES.values() for vr in data[0].split(" or ")}
    creators = []
    for line in TABLE.strip("\n").split("\n"):
        if line.startswith("@"):
            creators.append(line[1:])
            keys: list[str] = []
            continue
        key, vr, vm, _name, retired = line.split("|")
        assert re.fullmatch(r"[0-9A-F]{4}xx[0-9A-F]{2}|[0-9A-F]{2}xxxx[0-9A-F]{2}|[0-9A-F]{8}", key)
        assert set(vr.split(" or ")) <= vrs, vr
        assert vm
        assert retired in ("", "R")
        keys.append(key)
        assert keys == sorted(keys)
    assert creators == sorted(creators)
    assert len(set(creators)) == len(creators)
