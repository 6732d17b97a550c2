"""The Python examples in docs/*.md run as written (from the repository root).

Each page's ```python blocks run in order in one namespace, like a reader
pasting them into an interpreter. A block whose first line is
``# illustration`` shows an API shape with names the page does not define,
and is only compiled.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import pytest

from tests.reference import ROOT

BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
PAGES = [
    page
    for page in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
    if BLOCK.search(page.read_text())
]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = BLOCK.findall(page.read_text())
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for number, block in enumerate(blocks):
        code = block.replace("/tmp/", f"{tmp_path}{os.sep}")
        compiled = compile(code, f"{page.name} block {number}", "exec")
        if code.lstrip().startswith("# illustration"):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            exec(compiled, namespace)  # running the documentation is the test
