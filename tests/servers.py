"""Servers the remote-reading tests start on 127.0.0.1: HTTP with ranges, and moto's S3.

:class:`RangeServer` serves a folder over HTTP/1.1 with ``Range`` (one range
per request), ``HEAD``, ``Content-Length``, ``ETag`` and ``If-Match``, and
counts what it was asked and what it sent, so a test can say "one request
of about a frame's size" from the server's side. Python's ``http.server``
has no ranges, hence this handler.

:func:`s3_server` starts moto's S3 in server mode with dummy credentials; no
test needs the internet.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

__all__ = ["RangeServer", "Request", "free_port", "s3_server"]

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Request:
    """One request the server answered: method, path, Range header, status, body bytes sent."""

    method: str
    path: str
    range: str | None
    status: int
    sent: int


@dataclass
class RangeServer:
    """A threaded HTTP server of ``root`` with Range support; a context manager."""

    root: Path
    ignore_ranges: bool = False  # answer 200 with the whole file: a server without ranges
    requests: list[Request] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The base URL: ``http://127.0.0.1:PORT``."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def reset(self) -> None:
        """Forget the requests counted so far."""
        with self._lock:
            self.requests.clear()

    @property
    def bytes_sent(self) -> int:
        """Body bytes sent since the last :meth:`reset`."""
        with self._lock:
            return sum(r.sent for r in self.requests)

    def gets(self) -> list[Request]:
        """The GET requests since the last :meth:`reset`."""
        with self._lock:
            return [r for r in self.requests if r.method == "GET"]

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def __enter__(self) -> RangeServer:
        owner = self

        class Handler(_Handler):
            server_owner = owner

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


def etag_of(path: Path) -> str:
    """An ETag that changes when the file does: its size and modification time, hashed."""
    info = path.stat()
    return '"' + hashlib.sha1(f"{info.st_size}-{info.st_mtime_ns}".encode()).hexdigest() + '"'


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_owner: RangeServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read the counters instead."""

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _file(self) -> Path | None:
        owner = self.server_owner
        relative = unquote(self.path.split("?", 1)[0]).lstrip("/")
        path = (owner.root / relative).resolve()
        if owner.root.resolve() not in path.parents or not path.is_file():
            return None
        return path

    def _finish(self, status: int, sent: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        rng = self.headers.get("Range")
        self.server_owner.record(Request(self.command, self.path, rng, status, sent))

    def _serve(self, *, body: bool) -> None:
        path = self._file()
        if path is None:
            self._finish(404, 0, {"Content-Length": "0"})
            return
        size, etag = path.stat().st_size, etag_of(path)
        wanted = self.headers.get("If-Match")
        if wanted is not None and wanted not in ("*", etag):
            self._finish(412, 0, {"Content-Length": "0"})
            return
        start, end, status = 0, size, 200
        match = (
            _RANGE.match(self.headers.get("Range", ""))
            if not self.server_owner.ignore_ranges
            else None
        )
        if match and body:
            first, last = match.groups()
            if first:
                start, end = int(first), min(int(last) + 1 if last else size, size)
            else:
                start, end = max(size - int(last), 0), size
            if start >= size:
                self._finish(416, 0, {"Content-Range": f"bytes */{size}", "Content-Length": "0"})
                return
            status = 206
        headers = {
            "Content-Length": str(end - start if body else size),
            "ETag": etag,
            "Accept-Ranges": "none" if self.server_owner.ignore_ranges else "bytes",
            "Content-Type": "application/dicom",
        }
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        self._finish(status, end - start if body else 0, headers)
        if body:
            with path.open("rb") as handle:
                handle.seek(start)
                left = end - start
                while left:
                    chunk = handle.read(min(left, 1 << 20))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    left -= len(chunk)


@contextmanager
def s3_server() -> Iterator[tuple[str, dict[str, Any]]]:
    """moto's S3 on a free port: yields its endpoint and the ``storage_options`` for s3fs."""
    from moto.server import ThreadedMotoServer

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(key, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": endpoint},
        "skip_instance_cache": True,
    }
    try:
        yield endpoint, options
    finally:
        server.stop()
