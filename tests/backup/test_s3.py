"""Backups copied to S3-compatible storage, pruned there, and restored from there. S3 is the
one part we cannot reach, so the test starts moto's S3 server on 127.0.0.1 and talks HTTP to it
exactly as to a real endpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tapwork.config import Settings
from tapwork.devstack.embedded_pg import free_port
from tests.backup.conftest import in_process

BUCKET = "tapwork-backups"
KEY_ID, SECRET = "test-access-key", "test-secret-key-not-real"


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = _client(endpoint)
    client.create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def _client(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )


def _s3_env(endpoint: str, secret_file: Path) -> dict[str, str]:
    secret_file.write_text(SECRET + "\n")
    return {
        "BACKUP_S3_BUCKET": BUCKET,
        "BACKUP_S3_PREFIX": "nightly/",
        "BACKUP_S3_ENDPOINT_URL": endpoint,
        "BACKUP_S3_ACCESS_KEY_ID": KEY_ID,
        "BACKUP_S3_SECRET_ACCESS_KEY_FILE": str(secret_file),
    }


def test_backup_uploads_prunes_and_restores_from_s3(
    seeded: str,
    new_database: Callable[[], str],
    base_settings: Settings,
    s3_endpoint: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = _client(s3_endpoint)
    client.put_object(Bucket=BUCKET, Key="nightly/tapwork-tapwork-20200101T000000Z.dump", Body=b"x")
    client.put_object(Bucket=BUCKET, Key="nightly/keep-me.txt", Body=b"x")
    env = _s3_env(s3_endpoint, tmp_path / "s3-secret")
    out_dir = tmp_path / "out"

    code, out = in_process(
        monkeypatch, seeded, base_settings, "backup", "--output", str(out_dir),
        "--keep-days", "30", **env,
    )  # fmt: skip
    assert code == 0, out
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=BUCKET)["Contents"]}
    dump = next(out_dir.glob("*.dump"))
    assert f"nightly/{dump.name}" in keys
    assert f"nightly/{dump.stem}.manifest.json" in keys
    assert "nightly/keep-me.txt" in keys
    assert "nightly/tapwork-tapwork-20200101T000000Z.dump" not in keys
    assert (
        client.get_object(Bucket=BUCKET, Key=f"nightly/{dump.name}")["Body"].read()
        == dump.read_bytes()
    )

    target = new_database()
    code, out = in_process(
        monkeypatch, target, base_settings, "restore", f"s3://{BUCKET}/nightly/{dump.name}", **env
    )
    assert code == 0, out
    assert "every count and checksum equal" in out
