"""The HTTP calls DICOMweb makes, through a ``requests.Session`` imported on first use.

``import dicomframe`` never imports requests: this module imports it inside
:func:`session_or_new`, the first time a DICOMweb function runs. A caller's
own session carries authentication, proxies, retries and certificates; the
functions here only add the ``Accept`` and ``Content-Type`` headers DICOMweb
asks for.

Responses are read in pieces and refused once they pass a size limit from
:class:`~dicomframe.Limits` (a :class:`~dicomframe.errors.LimitError`), so a
server, or something posing as one, cannot make the client buffer without
bound. HTTP errors raise ``requests.HTTPError`` (an ``OSError``), with the
server's message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dicomframe.errors import LimitError, require

if TYPE_CHECKING:
    import requests

__all__ = ["Response", "get", "post", "session_or_new"]

_CHUNK = 1 << 20


class Response:
    """What a call returned: its URL, status, Content-Type and whole body."""

    __slots__ = ("body", "content_type", "status", "url")

    def __init__(self, url: str, status: int, content_type: str, body: bytes) -> None:
        self.url = url
        self.status = status
        self.content_type = content_type
        self.body = body


def session_or_new(session: requests.Session | None) -> requests.Session:
    """``session``, or a new ``requests.Session`` (importing requests now, not before)."""
    if session is not None:
        return session
    requests_module = require("requests", "DICOMweb", "distributed")
    session_: requests.Session = requests_module.Session()
    return session_


def get(
    session: requests.Session, url: str, *, accept: str, limit: tuple[str, int], what: str
) -> Response:
    """GET ``url`` asking for ``accept``; the body at most ``limit`` = (limit name, bytes)."""
    response = session.get(url, headers={"Accept": accept}, stream=True)
    return _read(response, limit, what)


def post(
    session: requests.Session,
    url: str,
    body: bytes,
    *,
    headers: dict[str, str],
    limit: tuple[str, int],
) -> Response:
    """POST ``body`` to ``url``; the response body at most ``limit`` bytes, HTTP errors kept."""
    response = session.post(url, data=body, headers=headers, stream=True)
    return _read(response, limit, f"response of {url}", check_status=False)


def _read(
    response: Any, limit: tuple[str, int], what: str, *, check_status: bool = True
) -> Response:
    name, maximum = limit
    with response:
        if check_status:
            response.raise_for_status()
        body = bytearray()
        for chunk in response.iter_content(_CHUNK):
            body += chunk
            if len(body) > maximum:
                raise LimitError(name, len(body), maximum, what=what)
        return Response(
            response.url,
            response.status_code,
            response.headers.get("Content-Type", ""),
            bytes(body),
        )
