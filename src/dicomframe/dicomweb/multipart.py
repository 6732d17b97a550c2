"""multipart/related bodies (RFC 2387), the envelope DICOMweb puts frames and instances in.

WADO-RS sends frames and bulk data as parts of a ``multipart/related``
response, each part with its own Content-Type (which, for a frame, names its
transfer syntax); STOW-RS takes instances the same way. Only what DICOMweb
needs is here: the parameters of a media type, parsing a body into parts
and building one from parts. A part's body is a view on the response, never
a copy, since a frame may be tens of megabytes.

Malformed input (no boundary, a part without its header block, a body that
ends before its closing delimiter) raises
:class:`~dicomframe.errors.InvalidDicomError`: a response the server got
wrong is bad input like any other.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from dicomframe.errors import InvalidDicomError

__all__ = ["Part", "build_multipart", "media_type", "parse_multipart"]

_CRLF = b"\r\n"


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a multipart body: its headers (names in lower case) and its bytes."""

    headers: dict[str, str]
    body: memoryview

    @property
    def content_type(self) -> str:
        """The part's Content-Type, ``""`` when it has none."""
        return self.headers.get("content-type", "")


def media_type(value: str) -> tuple[str, dict[str, str]]:
    """A Content-Type split into its type (lower case) and parameters (names in lower case).

    Quoted parameter values may hold ``;``, as ``type="image/jp2;
    transfer-syntax=..."`` does in DICOMweb; their quotes are removed.
    """
    pieces: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    parameters: dict[str, str] = {}
    for piece in pieces[1:]:
        name, _, text = piece.partition("=")
        text = text.strip()
        if len(text) >= 2 and text[0] == text[-1] == '"':
            text = text[1:-1]
        if name.strip():
            parameters[name.strip().lower()] = text
    return pieces[0].strip().lower(), parameters


def parse_multipart(content_type: str, body: bytes | memoryview) -> list[Part]:
    """The parts of a ``multipart/related`` body whose Content-Type is ``content_type``.

    Raises
    ------
    InvalidDicomError
        When the body is not multipart or breaks its own framing.
    """
    kind, parameters = media_type(content_type)
    boundary = parameters.get("boundary")
    if not kind.startswith("multipart/") or not boundary:
        raise InvalidDicomError(f"expected a multipart response with a boundary, not {kind!r}")
    data = bytes(body)  # one copy, to search; the parts are views on it
    view = memoryview(data)
    delimiter = b"--" + boundary.encode("ascii")
    start = data.find(delimiter)
    if start < 0:
        raise InvalidDicomError(f"multipart body has no boundary {boundary!r}")
    parts: list[Part] = []
    position = start + len(delimiter)
    while not data.startswith(b"--", position):  # "--" after a delimiter closes the body
        headers_end = data.find(_CRLF * 2, position)
        if headers_end < 0:
            raise InvalidDicomError(f"multipart part {len(parts) + 1} has no end of headers")
        headers = _headers(data[position:headers_end])
        content = headers_end + 4
        end = data.find(_CRLF + delimiter, content)
        if end < 0:
            raise InvalidDicomError(f"multipart part {len(parts) + 1} has no closing boundary")
        parts.append(Part(headers, view[content:end]))
        position = end + 2 + len(delimiter)
    return parts


def _headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.decode("latin-1").split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers


def build_multipart(bodies: Iterable[bytes], part_type: str) -> tuple[bytes, str]:
    """A ``multipart/related`` body of ``bodies``, each of Content-Type ``part_type``.

    Returns the body and the Content-Type header that announces it (with
    ``type=`` and a random boundary that no part contains).
    """
    chunks = list(bodies)
    boundary = uuid.uuid4().hex
    while any(boundary.encode("ascii") in chunk for chunk in chunks):
        boundary = uuid.uuid4().hex  # pragma: no cover - 2**-122 per part
    delimiter = b"--" + boundary.encode("ascii")
    out = bytearray()
    for chunk in chunks:
        out += delimiter + _CRLF + f"Content-Type: {part_type}".encode("ascii") + _CRLF * 2
        out += chunk + _CRLF
    out += delimiter + b"--" + _CRLF
    return bytes(out), f'multipart/related; type="{part_type}"; boundary={boundary}'
