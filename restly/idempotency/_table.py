"""The table restly keeps idempotency keys in, on restly's own `MetaData`.

```python
# Alembic env.py: migrate restly's table with your own
target_metadata = [Base.metadata, fr.idempotency_metadata]
```

`fr.db.create_all(Base)` / `fr.db.async_create_all(Base)` create it too (or
`fr.idempotency_metadata.create_all(engine)`).

One row per key a caller sent, looked up by `lookup`: a SHA-256 of the caller's scope and the
key, so keys of different callers never meet and no key is stored as sent. The row is
inserted when the first request claims the key and completed (`status`, `headers`, `body`)
in the same transaction as the write it answers: a row with a status is a committed outcome.
Times are Unix seconds, so every backend compares them alike.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text

__all__ = ["IDEMPOTENCY_TABLE", "idempotency_keys", "idempotency_metadata"]

#: Name of restly's table of idempotency keys.
IDEMPOTENCY_TABLE = "restly_idempotency_keys"

#: restly's own tables (include it in Alembic's `target_metadata`).
idempotency_metadata = MetaData()

idempotency_keys = Table(
    IDEMPOTENCY_TABLE,
    idempotency_metadata,
    # SHA-256 (hex) of the caller's scope and the key: the unique claim.
    Column("lookup", String(64), primary_key=True),
    # SHA-256 (hex) of the method, the route, its path parameters and the canonical body.
    Column("fingerprint", String(64), nullable=False),
    # The stored answer; NULL while the first request runs (never committed so).
    Column("status", Integer, nullable=True),
    Column("headers", Text, nullable=True),  # a JSON object
    # The answer's body: JSON, stored as text (UTF-8, as restly answers it).
    # LONGTEXT on MySQL/MariaDB (whose TEXT holds 64 KiB), asked for as TEXT(2**32 - 1), which
    # they turn into LONGTEXT, so importing restly does not import the MySQL dialect.
    Column("body", Text().with_variant(Text(2**32 - 1), "mysql", "mariadb"), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_restly_idempotency_keys_expires_at", "expires_at"),
)
