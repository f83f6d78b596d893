"""The statements of the idempotency store, per dialect (see ``_store`` for the protocol).

::

    connection.execute(sqlite_claim(), parameters)          # claim, or take over an expired key
    connection.execute(STORED, {"p_lookup": lookup})         # the key's stored answer
    insert(...).from_select(columns, claiming_guard("sqlite", values))  # a write claiming its key

Bound parameters are named ``p_*`` (``claim_parameters`` in ``_store`` builds them). The
dialect-specific statements are built on first use: importing a dialect's package costs memory
(PostgreSQL's ~2.4 MB) in every process, whichever database it uses.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import BigInteger, String, bindparam, cast, exists, func, insert, select, update

from ._table import idempotency_keys

__all__ = [
    "ANSWER",
    "GUARDED_DIALECTS",
    "INSERT_KEY",
    "NEW_KEY",
    "RECORD_ANSWER",
    "RENEW_KEY",
    "STORED",
    "STORED_LOCKED",
    "UNCLAIMED",
    "claiming_guard",
    "guarded_insert",
    "postgresql_claim",
    "sqlite_claim",
    "sqlite_store",
]

_table = idempotency_keys
_c = _table.c
NEW_KEY: dict[str, Any] = {
    "lookup": bindparam("p_lookup"),
    "fingerprint": bindparam("p_fingerprint"),
    "created_at": bindparam("p_now"),
    "expires_at": bindparam("p_expires"),
}
# What a claim of an expired row resets.
RENEWED: dict[str, Any] = {"status": None, "headers": None, "body": None}


def _upsert(statement: Any) -> Any:
    """`statement` (an INSERT) claiming an expired row in place. On SQLite its row count
    says whether it claimed (no RETURNING: one round trip to aiosqlite's thread less)."""
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[_c.lookup],
        set_={
            "fingerprint": excluded.fingerprint,
            "created_at": excluded.created_at,
            "expires_at": excluded.expires_at,
            **RENEWED,
        },
        where=_c.expires_at <= excluded.created_at,
    )


@cache
def postgresql_claim() -> Any:
    """The claim on PostgreSQL. Its drivers do not all report a row count for
    INSERT ... SELECT (psycopg: -1): RETURNING costs no round trip there."""
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert

    claimed = select(
        cast(bindparam("p_lookup"), String),
        cast(bindparam("p_fingerprint"), String),
        cast(bindparam("p_now"), BigInteger),
        cast(bindparam("p_expires"), BigInteger),
    ).where(func.pg_try_advisory_xact_lock(cast(bindparam("p_lock"), BigInteger)))
    columns = ["lookup", "fingerprint", "created_at", "expires_at"]
    return _upsert(postgresql_insert(_table).from_select(columns, claimed)).returning(_c.lookup)


@cache
def sqlite_claim() -> Any:
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return _upsert(sqlite_insert(_table).values(NEW_KEY))


INSERT_KEY = insert(_table).values(NEW_KEY)
RENEW_KEY = (
    update(_table)
    .where(_c.lookup == bindparam("p_lookup"))
    .values(fingerprint=bindparam("p_fingerprint"), created_at=bindparam("p_now"),
            expires_at=bindparam("p_expires"), **RENEWED)
)
STORED = select(_c.fingerprint, _c.status, _c.headers, _c.body, _c.expires_at).where(
    _c.lookup == bindparam("p_lookup")
)
STORED_LOCKED = STORED.with_for_update(nowait=True)
RECORD_ANSWER = (
    update(_table)
    .where(_c.lookup == bindparam("p_lookup"))
    .values(status=bindparam("p_status"), headers=bindparam("p_headers"), body=bindparam("p_body"))
)


#: True while the key (`p_lookup`) has no live row at `p_now`: what guards a write that
#: claims its key by being written (SQLite; see the module docstring).
UNCLAIMED = ~exists().where(_c.lookup == bindparam("p_lookup"), _c.expires_at > bindparam("p_now"))


@cache
def postgresql_claim_cte() -> Any:
    """PostgreSQL's claim as a CTE of the write it guards."""
    return postgresql_claim().cte("restly_claim")


#: The dialects whose single-statement writes carry their claim (see `claiming_guard`).
GUARDED_DIALECTS = frozenset({"sqlite", "postgresql"})
ANSWER: dict[str, Any] = {
    "status": bindparam("p_status"),
    "headers": bindparam("p_headers"),
    "body": bindparam("p_body"),
}


@cache
def sqlite_store() -> Any:
    """The key's row with its answer, written by a guarded write on SQLite; an expired row
    is taken over."""
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    statement = sqlite_insert(_table)
    return statement.values({**NEW_KEY, **ANSWER}).on_conflict_do_update(
        index_elements=[_c.lookup],
        set_={
            name: getattr(statement.excluded, name)
            for name in ("fingerprint", "created_at", "expires_at", "status", "headers", "body")
        },
        where=_c.expires_at <= bindparam("p_now"),
    )


def claiming_guard(dialect: str, values: Any) -> Any:
    """`values` (the `SELECT` of an `INSERT … SELECT` writing one row) made to claim the
    request's key as it writes: nothing is written when the key is claimed or answered
    (see the module docstring). Only for `GUARDED_DIALECTS`."""
    if dialect == "sqlite":
        return values.where(UNCLAIMED)
    assert dialect == "postgresql"
    claimed = postgresql_claim_cte()
    return values.where(exists(select(claimed.c.lookup)))


def guarded_insert(dialect: str, insert_statement: Any) -> Any:
    """`insert_statement` (an `INSERT … SELECT` guarded by `claiming_guard`) with what its
    guard needs at its top: PostgreSQL's claim CTE."""
    if dialect == "postgresql":
        return insert_statement.add_cte(postgresql_claim_cte())
    return insert_statement
