"""URLs on the command line: ``--storage-options``, and ``transcode`` of one file at a URL.

``dump`` and ``extract`` read a URL as they read a path (:func:`dicomframe.read`
fetches the header in a few range requests and each frame it needs in one).
``transcode`` with a URL as source or destination converts that one file with
:func:`dicomframe.transcode_file`, which uploads the finished output in one
step; trees, ``--workers``, ``--scheduler`` and ``--manifest`` are for local
folders. Credentials come as fsspec finds them (the environment, the cloud
SDK's files, ``FSSPEC_<PROTOCOL>_<OPTION>`` variables) or from
``--storage-options``: a JSON object of fsspec options for every URL of the
command (``'{"anon": true}'``), or one object per protocol when source and
destination need different ones (``'{"s3": {...}, "https": {...}}'``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dicomframe.core.remote import is_url
from dicomframe.core.transfer_syntax import TransferSyntax

__all__ = [
    "add_storage_options",
    "source_of",
    "storage_options",
    "transcode_url",
    "wants_url",
]


def add_storage_options(command: argparse.ArgumentParser) -> None:
    """Add ``--storage-options JSON`` to a command that takes URLs."""
    command.add_argument(
        "--storage-options",
        metavar="JSON",
        help="fsspec options for URLs, e.g. '{\"anon\": true}' or an S3 endpoint_url",
    )


def storage_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """The parsed ``--storage-options``; a ValueError says what is wrong with them."""
    text = getattr(args, "storage_options", None)
    if not text:
        return None
    import json  # here: only --storage-options needs it

    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--storage-options is not JSON: {exc}") from None
    if not isinstance(options, dict):
        raise ValueError("--storage-options must be a JSON object")  # noqa: TRY004 - user input
    return options


def source_of(text: str, args: argparse.Namespace) -> Any:
    """A path as it is; a URL with the storage options meant for its protocol."""
    if not is_url(text):
        if getattr(args, "storage_options", None):
            raise ValueError(f"--storage-options is for URLs; {text} is a local path")
        return text
    from dicomframe.core.remote import target

    return target(text, _for_protocol(text, storage_options(args)))


def _for_protocol(url: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """``options`` itself, or its entry for the URL's protocol when it is keyed by protocol."""
    if not options:
        return {}
    protocol = url.split("://", 1)[0].lower()
    known = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "http", "https", "file", "memory"}
    if all(isinstance(v, dict) for v in options.values()) and set(options) <= known | {protocol}:
        entry = options.get(protocol, {})
        return dict(entry)
    return options


def wants_url(*arguments: str) -> bool:
    """True when any of the arguments is a URL."""
    return any(is_url(argument) for argument in arguments)


def transcode_url(args: argparse.Namespace, syntax: TransferSyntax, options: dict[str, Any]) -> int:
    """``dicomframe transcode`` of one file when the source or destination is a URL."""
    from dicomframe.streaming import transcode_file

    if args.workers != 1 or args.scheduler or args.manifest:
        raise ValueError(
            "--workers, --scheduler and --manifest convert local trees; a URL is one file"
        )
    src, dst = _url_or_path(args.src, args), _url_or_path(args.dst, args)
    if not args.overwrite and _exists(dst):
        raise FileExistsError(f"{args.dst} exists (--overwrite replaces it)")
    transcode_file(src, dst, syntax, **options)
    sys.stdout.write(f"1 converted: {args.dst}\n")
    return 0


def _url_or_path(text: str, args: argparse.Namespace) -> Any:
    """As :func:`source_of`, but a local path beside a URL needs no options of its own."""
    if is_url(text):
        return source_of(text, args)
    return text


def _exists(where: Any) -> bool:
    from pathlib import Path

    if isinstance(where, str) and not is_url(where):
        return Path(where).exists()
    filesystem, path = where.filesystem()
    return bool(filesystem.exists(path))
