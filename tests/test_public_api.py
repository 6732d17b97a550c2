"""The public names of ``import dicomframe as dcf``, and what importing it costs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest

import dicomframe as dcf
from dicomframe import errors
from tests.reference import TESTDATA

# DESIGN.md: these names must hold.
REQUIRED = [
    "read",
    "write",
    "iter_elements",
    "Dataset",
    "DataElement",
    "Sequence",
    "Tag",
    "VR",
    "TransferSyntax",
    "__version__",
]
ERRORS = [
    "DicomError",
    "InvalidDicomError",
    "UnknownTransferSyntaxError",
    "CodecError",
    "DecodeError",
    "EncodeError",
    "EncodingError",
    "NoCodecError",
    "WriteError",
    "MissingDependencyError",
    "DicomWarning",
]


@pytest.mark.parametrize("name", REQUIRED + ERRORS)
def test_public_name(name: str) -> None:
    assert name in dcf.__all__
    assert getattr(dcf, name) is not None


def test_all_names_exist() -> None:
    for name in dcf.__all__:
        assert hasattr(dcf, name), name
    assert len(set(dcf.__all__)) == len(dcf.__all__)


@pytest.mark.parametrize("name", ERRORS)
def test_errors_are_the_errors_module_classes(name: str) -> None:
    assert getattr(dcf, name) is getattr(errors, name)


@pytest.mark.parametrize(
    ("name", "bases"),
    [
        ("InvalidDicomError", (errors.DicomError, ValueError)),
        ("UnknownTransferSyntaxError", (errors.DicomError, ValueError)),
        ("CodecError", (errors.DicomError,)),
        ("DecodeError", (errors.CodecError, ValueError)),
        ("EncodeError", (errors.CodecError, ValueError)),
        ("CodecUnavailableError", (errors.CodecError, ImportError)),
        ("NoCodecError", (errors.CodecError, NotImplementedError)),
        ("PluginError", (errors.DicomError,)),
        ("EncodingError", (errors.DicomError, ValueError)),
        ("WriteError", (errors.DicomError, OSError)),
        ("MissingDependencyError", (errors.DicomError, ImportError)),
        ("DicomWarning", (UserWarning,)),
        ("CodecFallbackWarning", (errors.DicomWarning,)),
        ("CharsetWarning", (errors.DicomWarning,)),
    ],
)
def test_error_tree(name: str, bases: tuple[type, ...]) -> None:
    cls = getattr(errors, name)
    for base in bases:
        assert issubclass(cls, base)
    if name != "DicomWarning" and not issubclass(cls, Warning):
        assert issubclass(cls, errors.DicomError)


def test_error_attributes() -> None:
    error = errors.InvalidDicomError("too short", tag=0x00280010, offset=420)
    assert str(error) == "(0028,0010) at offset 420 (0x1A4): too short"
    assert (error.tag, error.offset) == (0x00280010, 420)
    assert str(errors.InvalidDicomError("bare")) == "bare"
    unknown = errors.UnknownTransferSyntaxError("X", ["Y"])
    assert (unknown.value, unknown.suggestions) == ("X", ("Y",))
    assert str(errors.EncodingError("bad", tag=0x00100010)) == "(0010,0010): bad"
    assert errors.WriteError("no", path="/x").path == "/x"


def test_functions_have_the_documented_keywords() -> None:
    import inspect

    read = inspect.signature(dcf.read).parameters
    assert {"stop_before_pixels", "defer_size", "force"} <= set(read)
    assert all(read[k].kind is inspect.Parameter.KEYWORD_ONLY for k in ("defer_size", "force"))
    write = inspect.signature(dcf.write).parameters
    assert write["transfer_syntax"].kind is inspect.Parameter.KEYWORD_ONLY


BACKENDS = ["PIL", "openjpeg", "pylibjpeg", "pluggy", "libjpeg", "rle", "jpeg_ls", "imagecodecs"]


def test_import_loads_no_codec_backend() -> None:
    code = "import json, sys\nimport dicomframe\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    modules = set(json.loads(result.stdout))
    assert "dicomframe" in modules
    top_level = {m.split(".")[0] for m in modules}
    assert not top_level & set(BACKENDS), sorted(top_level & set(BACKENDS))
    # nor the built-in codec plugins that wrap them
    assert not {m for m in modules if m.startswith("dicomframe.codecs.")}


def test_reading_headers_never_imports_numpy() -> None:
    """Import, read a header and three attributes: the frame classes (and numpy) stay unloaded."""
    code = (
        "import json, sys\nimport dicomframe as dcf\n"
        f"ds = dcf.read({str(TESTDATA / 'ct_explicit_le.dcm')!r}, stop_before_pixels=True)\n"
        "values = [str(ds.PatientID), str(ds.Modality), str(ds.StudyInstanceUID)]\n"
        "before = 'numpy' in sys.modules\n"
        "frame = dcf.NativeFrame\n"
        "print(json.dumps([before, 'numpy' in sys.modules, frame.__module__, values]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    before, after, module, values = json.loads(result.stdout)
    assert not before
    assert after
    assert module == "dicomframe.core.frame"
    assert values[1] == "CT"


def test_lazy_names_are_listed_and_unknown_names_fail() -> None:
    assert {"NativeFrame", "EncapsulatedFrame", "FrameInfo", "PixelData"} <= set(dir(dcf))
    assert dcf.PixelData.__module__ == "dicomframe.core.pixel_data"
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        _ = dcf.NoSuchName  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("missing", "use"),
    [
        ("fsspec", lambda: dcf.read("s3://bucket/file.dcm")),
        ("dask", lambda: __import__("dicomframe.dask", fromlist=["frames"]).frames(["x.dcm"])),
        ("requests", lambda: dcf.read_dicomweb("http://127.0.0.1:1", "1", "2", "3")),
    ],
)
def test_a_missing_optional_package_names_its_extra(
    missing: str, use: Callable[[], object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """URLs, Dask arrays and DICOMweb need the distributed extra: the error says so."""
    for name in list(sys.modules):
        if name == missing or name.startswith(missing + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, missing, None)  # importing it now raises ImportError
    with pytest.raises((errors.MissingDependencyError, OSError)) as caught:
        use()
    assert isinstance(caught.value, errors.DicomError)
    assert "pip install 'dicomframe[distributed]'" in str(caught.value)
