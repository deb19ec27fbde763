"""`tapwork backup` and `tapwork restore`: custom-format pg_dump with a manifest of row counts
and checksums, optional upload to S3-compatible storage (docs/runbook.md, "Backups")."""
