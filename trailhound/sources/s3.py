"""S3 as an input for the local engines: `s3://bucket/prefix/` lists objects as inputs, and
`open_object` streams one (sources/inputs.open_input calls it for an s3:// path, so the reader
loop, the fast engine's workers and their bounded-memory streaming and bad-input reporting are
the same as for files).

Credentials: boto3's standard chain (environment, profile, SSO, instance role...). Endpoint:
TRAILHOUND_S3_ENDPOINT (set by `--s3-endpoint URL`: MinIO, moto, a VPC endpoint), else boto3's
own (AWS_ENDPOINT_URL_S3...). boto3 is optional: `pip install 'trailhound[s3]'`.

`--since` prunes the listing by the CloudTrail key layout
(`AWSLogs/[o-org/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/...`, sources/datepath.py): a date folder
entirely before the day of `since` holds no event at or after it, and is not listed. Other keys
are all listed; the window itself is applied to events as for files.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any, BinaryIO

from trailhound.errors import UsageError
from trailhound.model import Issue, Location
from trailhound.sources.datepath import Day, before, day_of
from trailhound.sources.files import InputSpec

SCHEME = "s3://"
ENDPOINT_ENV = "TRAILHOUND_S3_ENDPOINT"

# Set from --since (cli/scan_options.py) before discovery; None: list everything.
SINCE_NS: int | None = None
# s3 URI -> (size, last-modified ns, ETag) of the objects listed: their identity for `watch`
LISTED: dict[str, tuple[int, int, str]] = {}

# per process (a boto3 client must not cross a fork) and endpoint
_clients: dict[tuple[int, str | None], Any] = {}


def is_s3(path: str) -> bool:
    return path.startswith(SCHEME)


def _client() -> Any:
    endpoint = os.environ.get(ENDPOINT_ENV) or None
    client = _clients.get((os.getpid(), endpoint))
    if client is None:
        try:
            import boto3  # type: ignore[import-untyped]  # no stubs shipped
        except ImportError:
            raise UsageError(
                "s3:// inputs need boto3: pip install 'trailhound[s3]'"
            ) from None
        client = boto3.client("s3", endpoint_url=endpoint)
        _clients[(os.getpid(), endpoint)] = client
    return client


def split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len(SCHEME):].partition("/")
    return bucket, key


def discover(uri: str) -> tuple[list[InputSpec], list[Issue]]:
    """Every object under `uri` (a prefix; one object when it names one), sorted by key, as
    inputs; a listing that fails is one issue naming the URI and the reason."""
    bucket, prefix = split(uri)
    if not bucket:
        return [], [Issue(Location(uri), "not_found", "no bucket in the URI; write s3://bucket/prefix/")]
    since = _since_parts()
    specs: list[InputSpec] = []
    client = _client()
    try:
        for key, size, mtime_ns, etag in _list(client, bucket, prefix, since):
            if key.endswith("/") or key.rsplit("/", 1)[-1].startswith("."):
                continue  # folder markers; hidden names, as discovery skips them in folders
            path = f"{SCHEME}{bucket}/{key}"
            LISTED[path] = (size, mtime_ns, etag)
            specs.append(InputSpec(path, size, key == prefix))
    except _errors() as exc:
        return specs, [Issue(Location(uri), "unreadable", f"cannot list: {_reason(exc)}")]
    if not specs:
        return [], [Issue(Location(uri), "not_found", "no object under this prefix; check the URI")]
    return specs, []


def _since_parts() -> Day | None:
    return None if SINCE_NS is None else day_of(SINCE_NS)


def _list(
    client: Any, bucket: str, prefix: str, since: tuple[int, int, int] | None
) -> Iterator[tuple[str, int, int, str]]:
    """(key, size, last-modified ns, ETag) under `prefix`, in key order, walking one folder
    level at a time (Delimiter '/') so that date folders before `since` are never listed."""
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, Delimiter="/"
    )
    entries: list[tuple[str, Any]] = []
    for page in pages:
        entries.extend((o["Key"], o) for o in page.get("Contents", ()))
        entries.extend((p["Prefix"], None) for p in page.get("CommonPrefixes", ()))
    for key, obj in sorted(entries, key=lambda e: e[0]):
        if obj is None:
            if since is None or not before(key, since):
                yield from _list(client, bucket, key, since)
            continue
        mtime = int(obj["LastModified"].timestamp() * 1e9)
        yield key, int(obj["Size"]), mtime, str(obj.get("ETag", ""))


def open_object(path: str) -> BinaryIO:
    """The object's bytes as a stream. Raises OSError (the reader turns it into an issue)."""
    bucket, key = split(path)
    client = _client()
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
    except _errors() as exc:
        raise OSError(f"cannot read the object: {_reason(exc)}") from exc
    return io.BufferedReader(_Body(body), 1 << 20)


class _Body(io.RawIOBase):
    """botocore's streaming body with its network errors as OSError, as a file's would be."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        try:
            data = self._body.read(len(b))
        except _errors() as exc:
            raise OSError(f"reading the object failed: {_reason(exc)}") from exc
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


def _errors() -> tuple[type[BaseException], ...]:
    """What a listing or a read can raise: botocore's errors share no base with OSError
    (imported only once boto3 was: _client() came first)."""
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

    return (BotoCoreError, ClientError, OSError)


def _reason(exc: BaseException) -> str:
    err = getattr(exc, "response", {}).get("Error", {}) if hasattr(exc, "response") else {}
    if err:
        return f"{err.get('Code', '?')}: {err.get('Message', '')}".rstrip(": ")
    return str(exc) or type(exc).__name__
