"""An Orthanc server with its DICOMweb plugin, on loopback, for the DICOMweb tests.

One server per test session, in a temporary directory, reachable only from
this machine (no DICOM port, no remote access, no authentication); stopped
when the session ends. CI installs Orthanc, so there its absence fails.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.reference import require_tool

PLUGIN_PLACES = [
    Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so"),
    Path("/usr/lib/orthanc/libOrthancDicomWeb.so"),
]


def _plugin() -> Path:
    for path in PLUGIN_PLACES:
        if path.is_file():
            return path
    found = subprocess.run(
        ["dpkg", "-L", "orthanc-dicomweb"], capture_output=True, text=True, check=False
    ).stdout.split()
    for line in found:
        if line.endswith(".so") and "DicomWeb" in line:
            return Path(line)
    message = "the Orthanc DICOMweb plugin is not installed (apt-get install orthanc-dicomweb)"
    if os.environ.get("DICOMFRAME_REQUIRE_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The DICOMweb root of a running Orthanc, e.g. ``http://127.0.0.1:PORT/dicom-web``."""
    executable = require_tool("Orthanc")
    home = tmp_path_factory.mktemp("orthanc")
    port = _free_port()
    config = {
        "Name": "dicomframe-tests",
        "HttpPort": port,
        "DicomServerEnabled": False,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "StorageDirectory": str(home / "storage"),
        "IndexDirectory": str(home / "index"),
        "Plugins": [str(_plugin())],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }
    (home / "config.json").write_text(json.dumps(config))
    log = (home / "orthanc.log").open("wb")
    process = subprocess.Popen(
        [executable, str(home / "config.json")], stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}/dicom-web"
    try:
        _wait_for(base, process, home / "orthanc.log")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_for(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Orthanc exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{base}/studies", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail(f"Orthanc did not answer within 60 s:\n{log.read_text()[-3000:]}")


class CountingSession(requests.Session):
    """A session that records every request it sends: (method, url)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        self.sent.append((str(method), str(url)))
        return super().request(str(method), str(url), *args, **kwargs)

    def frames_fetched(self) -> list[int]:
        """The frame numbers (1-based, as in WADO-RS) asked for, in order."""
        return [int(url.rsplit("/frames/", 1)[1]) for _, url in self.sent if "/frames/" in url]


@pytest.fixture
def session() -> Iterator[CountingSession]:
    with CountingSession() as counting:
        yield counting


def new_uid() -> str:
    """A UID of its own (PS3.5 B.2: 2.25 and a UUID as an integer)."""
    return f"2.25.{uuid.uuid4().int}"
