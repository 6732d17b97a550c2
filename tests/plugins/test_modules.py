"""Backend modules found without importing them, and loaded at the least cost."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dicomframe.plugins.codec import Codec
from dicomframe.plugins.modules import find, load


@pytest.fixture
def package(tmp_path: Path) -> Iterator[str]:
    """A package whose ``__init__`` raises: finding its submodules must not run it."""
    name = f"df_probe_{tmp_path.name.replace('-', '_')}"
    root = tmp_path / name
    (root / "inner").mkdir(parents=True)
    (root / "__init__.py").write_text("raise RuntimeError('the package was imported')\n")
    (root / "inner" / "__init__.py").write_text("")
    (root / "inner" / "leaf.py").write_text("VALUE = 7\n")
    sys.path.insert(0, str(tmp_path))
    try:
        yield name
    finally:
        sys.path.remove(str(tmp_path))
        for key in [key for key in sys.modules if key.startswith(name)]:
            del sys.modules[key]


def test_a_dotted_module_is_found_without_importing_its_packages(package: str) -> None:
    spec = find(f"{package}.inner.leaf")
    assert spec is not None
    assert str(spec.origin).endswith("leaf.py")
    assert package not in sys.modules
    with pytest.raises(RuntimeError, match="the package was imported"):
        __import__(f"{package}.inner.leaf")  # what importlib.util.find_spec would have run


def test_what_is_not_there_is_not_found(package: str) -> None:
    assert find(f"{package}.inner.missing") is None
    assert find(f"{package}.missing.leaf") is None
    assert find("df_no_such_package.leaf") is None
    assert package not in sys.modules


def test_a_codec_needing_a_dotted_module_is_available_without_importing_it(package: str) -> None:
    codec = Codec(name="probe", transfer_syntaxes=frozenset(), modules=(f"{package}.inner.leaf",))
    assert codec.is_available()
    assert Codec(
        name="probe", transfer_syntaxes=frozenset(), modules=(f"{package}.inner.gone",)
    ).missing_modules() == [f"{package}.inner.gone"]
    assert package not in sys.modules


def test_a_python_submodule_is_imported_as_usual(package: str) -> None:
    with pytest.raises(RuntimeError, match="the package was imported"):
        load(f"{package}.inner.leaf")  # only a compiled submodule is loaded on its own


def test_a_loaded_module_is_given_back() -> None:
    import json

    assert load("json") is json
    assert find("json") is json.__spec__


@pytest.mark.parametrize("declared", [False, True], ids=["undeclared", "declared"])
def test_only_a_declared_compiled_submodule_is_loaded_alone(declared: bool) -> None:
    """numpy.random._mt19937 imports its own package as it initialises. Undeclared, it is
    imported as usual; declared, it fails as loaded alone (which is why it takes a declaration)."""
    code = (
        "import sys\n"
        "from dicomframe.plugins.modules import load, standalone\n"
        f"if {declared}:\n"
        "    standalone('numpy.random._mt19937')\n"
        "try:\n"
        "    print(load('numpy.random._mt19937').__name__, 'numpy.random' in sys.modules)\n"
        "except ImportError:\n"
        "    print('ImportError')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    expected = ["ImportError"] if declared else ["numpy.random._mt19937", "True"]
    assert out.stdout.split() == expected
