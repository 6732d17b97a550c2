"""Installed distributions built on the fly: modules and a ``.dist-info`` on ``sys.path``.

The same thing ``pip install`` leaves behind, so ``importlib.metadata`` finds
their entry points and versions, and the registry loads them as it loads any
third-party plugin. Prepended to ``sys.path``, such a distribution is
enumerated before dicomframe itself.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest


class Installer:
    """Installs distributions under one directory; :meth:`forget` drops their modules."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.monkeypatch = monkeypatch
        self.modules: list[str] = []

    def install(
        self,
        name: str,
        version: str,
        modules: dict[str, str],
        entry_points: dict[str, str] | None = None,
    ) -> None:
        """Install ``name`` ``version`` with ``modules`` (name -> source).

        ``entry_points`` (entry-point name -> module) go in the
        ``dicomframe.codecs`` group.
        """
        root = self.root / f"{name}-{version}"
        root.mkdir(parents=True)
        for module, source in modules.items():
            (root / f"{module}.py").write_text(textwrap.dedent(source))
            self.modules.append(module)
        info = root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "top_level.txt").write_text("".join(f"{m}\n" for m in modules))
        if entry_points:
            lines = "".join(f"{ep} = {module}\n" for ep, module in entry_points.items())
            (info / "entry_points.txt").write_text(f"[dicomframe.codecs]\n{lines}")
        self.monkeypatch.syspath_prepend(str(root))

    def forget(self) -> None:
        """Drop the installed modules from ``sys.modules``."""
        for module in self.modules:
            sys.modules.pop(module, None)
