"""multipart/related parsing and building, on bodies written here and by Orthanc's shape."""

from __future__ import annotations

import pytest

from dicomframe.dicomweb.multipart import build_multipart, media_type, parse_multipart
from dicomframe.errors import InvalidDicomError


def test_media_type_with_quoted_parameters() -> None:
    kind, parameters = media_type(
        'multipart/related; type="image/jp2; transfer-syntax=1.2.840.10008.1.2.4.90"; boundary=abc'
    )
    assert kind == "multipart/related"
    assert parameters == {
        "type": "image/jp2; transfer-syntax=1.2.840.10008.1.2.4.90",
        "boundary": "abc",
    }
    assert media_type("Application/Octet-Stream") == ("application/octet-stream", {})


@pytest.mark.parametrize(
    "bodies",
    [[b""], [b"\x00\x01\r\n--x"], [b"one", b"two\r\n\r\n", bytes(range(256)) * 100]],
    ids=["empty", "tricky", "three"],
)
def test_round_trip(bodies: list[bytes]) -> None:
    body, content_type = build_multipart(bodies, "application/dicom")
    assert content_type.startswith('multipart/related; type="application/dicom"; boundary=')
    parts = parse_multipart(content_type, body)
    assert [bytes(p.body) for p in parts] == bodies
    assert all(p.content_type == "application/dicom" for p in parts)


def test_orthanc_shaped_frame() -> None:
    body = (
        b"--b1\r\nContent-Location: http://x/frames/2\r\n"
        b"Content-Type: image/dicom-rle; transfer-syntax=1.2.840.10008.1.2.5\r\n"
        b"Content-Length: 4\r\nMIME-Version: 1.0\r\n\r\n\x01\x02\r\n\x03\r\n--b1--\r\n"
    )
    (part,) = parse_multipart('multipart/related; type="image/dicom-rle"; boundary=b1', body)
    assert bytes(part.body) == b"\x01\x02\r\n\x03"
    assert part.headers["content-location"] == "http://x/frames/2"
    assert media_type(part.content_type)[1]["transfer-syntax"] == "1.2.840.10008.1.2.5"


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("application/json", b"{}", "expected a multipart"),
        ("multipart/related", b"--b\r\n\r\nx\r\n--b--", "with a boundary"),
        ("multipart/related; boundary=b", b"nothing here", "has no boundary"),
        ("multipart/related; boundary=b", b"--b\r\nContent-Type: x", "no end of headers"),
        ("multipart/related; boundary=b", b"--b\r\n\r\nbody without end", "no closing"),
    ],
)
def test_malformed_raises(content_type: str, body: bytes, message: str) -> None:
    with pytest.raises(InvalidDicomError, match=message):
        parse_multipart(content_type, body)
