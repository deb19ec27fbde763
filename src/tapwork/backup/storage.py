"""Optional copy of each backup to S3-compatible storage (AWS S3, MinIO, Ceph...).

Configured by `BACKUP_S3_*` variables; without a bucket nothing leaves the machine. Without an
access key boto3's own chain is used (instance or pod roles), so no key needs to be stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class S3Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BACKUP_S3_", extra="ignore")

    bucket: str = ""
    prefix: str = "tapwork/"
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str = ""
    secret_access_key: SecretStr = SecretStr("")
    secret_access_key_file: str = ""

    @model_validator(mode="after")
    def _key_from_file(self) -> S3Settings:
        # A Kubernetes secret mounted as a file, like the service's other secrets.
        if self.secret_access_key_file and not self.secret_access_key.get_secret_value():
            text = Path(self.secret_access_key_file).read_text("utf-8").strip()
            self.secret_access_key = SecretStr(text)
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.bucket)

    def key_for(self, filename: str) -> str:
        return f"{self.prefix}{filename}" if self.prefix else filename


class S3Store:
    def __init__(self, settings: S3Settings) -> None:
        import boto3  # imported here: only backups that upload pay for it

        options: dict[str, Any] = {"region_name": settings.region}
        if settings.endpoint_url:
            options["endpoint_url"] = settings.endpoint_url
        if settings.access_key_id:
            options["aws_access_key_id"] = settings.access_key_id
            options["aws_secret_access_key"] = settings.secret_access_key.get_secret_value()
        self.settings = settings
        self.client = boto3.client("s3", **options)

    def upload(self, path: Path) -> str:
        key = self.settings.key_for(path.name)
        self.client.upload_file(str(path), self.settings.bucket, key)
        return f"s3://{self.settings.bucket}/{key}"

    def download(self, key: str, target: Path) -> None:
        self.client.download_file(self.settings.bucket, key, str(target))

    def objects(self) -> Iterator[tuple[str, datetime]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.settings.bucket, Prefix=self.settings.prefix):
            for item in page.get("Contents", []):
                yield item["Key"], item["LastModified"]

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # the API's limit per call
            chunk = keys[start : start + 1000]
            self.client.delete_objects(
                Bucket=self.settings.bucket,
                Delete={"Objects": [{"Key": key} for key in chunk], "Quiet": True},
            )
