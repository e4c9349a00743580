"""Optional upload of a finished backup to S3 or an S3-compatible store (MinIO, moto).

boto3 is imported only when an upload is asked for, so leadcache works without the ``[s3]``
extra. Credentials come from boto3's usual chain (environment, ``~/.aws``, instance role)
unless the caller passes a ready client.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..errors import BackupError

__all__ = ["parse_s3_url", "upload_backup"]


def parse_s3_url(url: str) -> tuple[str, str]:
    """Split ``s3://bucket/some/prefix`` into ``("bucket", "some/prefix")``.

    Example:
        >>> parse_s3_url("s3://leads-backups/nightly/")
        ('leads-backups', 'nightly')
    """
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise BackupError(f"expected s3://bucket[/prefix], got {url!r}")
    return parsed.netloc, parsed.path.strip("/")


def _make_client(endpoint_url: str | None) -> Any:
    try:
        import boto3
    except ImportError as exc:
        raise BackupError(
            "uploading backups to S3 needs boto3, which is not installed",
            hint="pip install 'leadcache[s3]', or unset LEAD_CACHE_BACKUP_S3",
        ) from exc
    return boto3.client("s3", endpoint_url=endpoint_url)


def upload_backup(
    path: Path,
    s3_url: str,
    *,
    endpoint_url: str | None = None,
    client: Any = None,
) -> str:
    """Upload one backup file to ``<s3_url>/<file name>`` and return its ``s3://`` URI.

    Args:
        path: the backup file.
        s3_url: ``s3://bucket`` or ``s3://bucket/prefix``.
        endpoint_url: an S3-compatible endpoint; ignored when ``client`` is given.
        client: a boto3 S3 client to use instead of building one (custom credentials, tests).

    Raises:
        BackupError: boto3 is missing, or the upload failed (the cause is chained).

    Example:
        >>> upload_backup(Path("data/backups/leads_cache_20261128_100000.db"),
        ...               "s3://leads-backups/nightly")  # doctest: +SKIP
        's3://leads-backups/nightly/leads_cache_20261128_100000.db'
    """
    bucket, prefix = parse_s3_url(s3_url)
    key = f"{prefix}/{path.name}" if prefix else path.name
    s3 = client if client is not None else _make_client(endpoint_url)
    try:
        s3.upload_file(str(path), bucket, key)
    except Exception as exc:
        # boto3 raises S3UploadFailedError, botocore ClientError/BotoCoreError and plain
        # connection errors; importing them all here would make boto3 a hard dependency.
        raise BackupError(
            f"upload of {path.name} to s3://{bucket}/{key} failed: {exc}",
            hint=f"the local backup {path} is complete",
        ) from exc
    return f"s3://{bucket}/{key}"
