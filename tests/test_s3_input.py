"""s3:// inputs against a real S3-compatible server: moto's server mode, started here on
127.0.0.1 (no mocked client object: boto3 talks HTTP to it as it would to AWS)."""

from __future__ import annotations

import json
import os
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import require
from tests.watch_fixtures import Planted, drop_batch
from trailhound.cli.app import cli
from trailhound.sources.s3 import ENDPOINT_ENV

try:
    import boto3
    from moto.server import ThreadedMotoServer
except ImportError:  # pragma: no cover - the test extra installs them
    boto3 = ThreadedMotoServer = None

BUCKET = "trail-logs"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    require(ThreadedMotoServer is not None, "moto[server] and boto3 are not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A fresh bucket holding three generated batches; the local copy of the same files."""
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1", ENDPOINT_ENV: endpoint}.items():
        monkeypatch.setenv(k, v)  # the standard chain's first link; restored after the test
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    name = f"{BUCKET}-{tmp_path.name.lower().replace('_', '-')[-20:]}"
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=name)
    local = tmp_path / "logs"
    planted = Planted()
    for i in range(3):
        drop_batch(local, i, planted)
    for f in sorted(local.rglob("*.gz")):
        s3.upload_file(str(f), name, f.relative_to(local).as_posix())
    return name, local


def _detect(*args: str) -> tuple[int, list[dict[str, object]], str]:
    res = CliRunner().invoke(cli, ["detect", "--format", "jsonl", *args])
    return res.exit_code, [json.loads(x) for x in res.stdout.splitlines()], res.stderr


def _pairs(rows: list[dict[str, object]]) -> Counter[tuple[object, object]]:
    return Counter((r["eventID"], s["rule_id"]) for r in rows for s in r["signals"])  # type: ignore[attr-defined]


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_s3_prefix_gives_the_findings_of_the_same_files_on_disk(
    bucket: tuple[str, Path], endpoint: str, engine: str
) -> None:
    name, local = bucket
    code, rows, err = _detect("--engine", engine, "--s3-endpoint", endpoint,
                              f"s3://{name}/AWSLogs/")
    assert code == 0, err
    _, want, _ = _detect("--engine", "reference", str(local))
    assert want and _pairs(rows) == _pairs(want)
    assert all(str(r["origin"]).startswith(f"s3://{name}/AWSLogs/") for r in rows)


def test_s3_since_prunes_date_folders_before_its_day(bucket: tuple[str, Path]) -> None:
    name, _ = bucket
    s3 = boto3.client("s3", endpoint_url=os.environ[ENDPOINT_ENV])
    old = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/13/old.json"
    s3.put_object(Bucket=name, Key=old, Body=b'{"Records": [')  # broken: exit 3 if it is read
    code, rows, err = _detect(f"s3://{name}/")
    assert code == 3 and f"s3://{name}/{old}" in err  # listed without --since
    code, rows2, err = _detect("--since", "2026-03-14", f"s3://{name}/")
    assert code == 0, err  # its folder (the day before) was not even listed
    assert _pairs(rows2) == _pairs(rows)


def test_s3_bad_object_and_missing_bucket_are_reported(bucket: tuple[str, Path]) -> None:
    name, local = bucket
    s3 = boto3.client("s3", endpoint_url=os.environ[ENDPOINT_ENV])
    s3.put_object(Bucket=name, Key="AWSLogs/zz-truncated.json.gz", Body=b"\x1f\x8b\x08\x00junk")
    code, rows, err = _detect(f"s3://{name}/AWSLogs/")
    assert code == 3 and f"s3://{name}/AWSLogs/zz-truncated.json.gz" in err
    _, want, _ = _detect(str(local))
    assert _pairs(rows) == _pairs(want)  # everything else processed
    code, rows, err = _detect("s3://no-such-bucket-here/")
    assert code == 3
    assert "s3://no-such-bucket-here/" in err and "NoSuchBucket" in err and not rows


def test_watch_state_over_s3_reads_a_reuploaded_object_again_without_repeats(
    bucket: tuple[str, Path], tmp_path: Path
) -> None:
    name, local = bucket
    db = str(tmp_path / "s.db")
    code, first, err = _detect("--state", db, f"s3://{name}/")
    assert code == 0, err
    code, again, _ = _detect("--state", db, f"s3://{name}/")
    assert (code, again) == (0, [])
    planted = Planted()
    drop_batch(local, 3, planted)
    drop_batch(local, 4, planted)  # batch 4 rewrites batch 3's first file: a new ETag
    s3 = boto3.client("s3", endpoint_url=os.environ[ENDPOINT_ENV])
    for f in sorted(local.rglob("*.gz")):
        key = f.relative_to(local).as_posix()
        if "T0815Z" in key or "T0820Z" in key:
            s3.upload_file(str(f), name, key)
    code, third, err = _detect("--state", db, f"s3://{name}/")
    assert code == 0, err
    _, everything, _ = _detect(str(local))
    got = Counter((a["eventID"], a["rule_id"]) for a in first + third)
    assert got == _pairs(everything)
    assert "late-0004" in {a["eventID"] for a in third}
