"""Claiming a key, storing the answer, replaying it: in the request's own transaction.

```python
outcome = claim(session, lookup, fingerprint, ttl=86400)   # Claim, or the stored answer
...                                                          # the write, flushed
record(session, outcome, response)                          # the answer to send
session.commit()                                             # the write and its answer
```

**The claim** inserts the key's row at the start of the request's transaction, before
anything is written; the row is completed with the answer just before the commit, so a key
has a stored answer exactly when its write committed. A request that fails rolls back its
claim with its write: a retry runs again.

**A duplicate in flight** is told apart without waiting for the first request:

- PostgreSQL: the claim also takes `pg_try_advisory_xact_lock` on the key (one statement,
  `INSERT ... SELECT ... WHERE pg_try_advisory_xact_lock(...) ON CONFLICT ...`). The lock is
  held until the first request's transaction ends, so a duplicate that cannot take it answers
  409 at once (an uncommitted row is invisible to it, and inserting it would wait).
- MySQL/MariaDB: the key's row is read `FOR UPDATE NOWAIT`: the first request's uncommitted
  row is locked, so the duplicate's read fails at once (409). Two first requests racing for
  a new key collide on InnoDB's gap locks: one is chosen as a deadlock victim (409).
- SQLite: one writer at a time. A duplicate waits for the database's write lock (at most
  `connect_timeout`), then finds the first request's committed answer and replays it; if the
  lock does not come in time, 409.

**A write of one statement** (a create by `INSERT … RETURNING`, see
`restly.resource._single`) carries the claim, on SQLite and PostgreSQL (`claiming_guard`):
two statements instead of three.

- SQLite: the write is guarded by `UNCLAIMED` (`INSERT … SELECT … WHERE NOT EXISTS (a live
  row of the key)`), so it inserts nothing when the key has an answer, and the key's row is
  inserted complete with the answer (`store`) before the commit. SQLite takes its write lock
  when the guarded statement starts, before it reads the key, so no other writer can claim
  the key between the check and the commit; a duplicate waits for the lock as above, then
  finds the committed answer (`stored_answer`).
- PostgreSQL: the claim above is a CTE of the write (`WITH claim AS (INSERT … RETURNING)
  INSERT INTO … SELECT … WHERE EXISTS (SELECT FROM claim)`): the write inserts only when
  the claim did, the advisory lock is taken as before, and the answer is stored by `store`
  with the same `UPDATE` as `record`.

A stored answer is replayed when the fingerprint matches (422 when it does not); a row past
its `expires_at` is claimed anew, in the same statement. Every 409 carries `Retry-After`.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Connection, String, bindparam, cast, delete, exists, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from starlette.responses import Response

from .._faults import classify, is_lock_wait, is_missing_table
from ..exc import IdempotencyKeyInFlight, IdempotencyKeyReused
from ._table import IDEMPOTENCY_TABLE, idempotency_keys

__all__ = [
    "REPLAYED_HEADER",
    "RETRY_AFTER_SECONDS",
    "GUARDED_DIALECTS",
    "UNCLAIMED",
    "Claim",
    "async_claim",
    "async_purge_expired",
    "async_record",
    "async_store",
    "async_stored_answer",
    "claim",
    "claim_parameters",
    "claiming_guard",
    "guarded_insert",
    "in_flight_instead",
    "purge_expired",
    "record",
    "store",
    "stored_answer",
]

logger = logging.getLogger("restly")

#: The header a replayed answer carries (`Idempotent-Replayed: true`).
REPLAYED_HEADER = "Idempotent-Replayed"
#: What a 409 for a key in flight tells the client to wait, in seconds.
RETRY_AFTER_SECONDS = 1


_table = idempotency_keys
_c = _table.c
_NEW: dict[str, Any] = {
    "lookup": bindparam("p_lookup"),
    "fingerprint": bindparam("p_fingerprint"),
    "created_at": bindparam("p_now"),
    "expires_at": bindparam("p_expires"),
}
# What a claim of an expired row resets.
_RENEWED: dict[str, Any] = {"status": None, "headers": None, "body": None}


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
            **_RENEWED,
        },
        where=_c.expires_at <= excluded.created_at,
    )


# The dialect-specific statements are built on first use: importing a dialect's package
# costs memory (PostgreSQL's ~2.4 MB) in every process, whichever database it uses.


@cache
def _postgresql_claim() -> Any:
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
def _sqlite_claim() -> Any:
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return _upsert(sqlite_insert(_table).values(_NEW))


_INSERT = insert(_table).values(_NEW)
_RENEW = (
    update(_table)
    .where(_c.lookup == bindparam("p_lookup"))
    .values(fingerprint=bindparam("p_fingerprint"), created_at=bindparam("p_now"),
            expires_at=bindparam("p_expires"), **_RENEWED)
)
_STORED = select(_c.fingerprint, _c.status, _c.headers, _c.body, _c.expires_at).where(
    _c.lookup == bindparam("p_lookup")
)
_STORED_LOCKED = _STORED.with_for_update(nowait=True)
_RECORD = (
    update(_table)
    .where(_c.lookup == bindparam("p_lookup"))
    .values(status=bindparam("p_status"), headers=bindparam("p_headers"), body=bindparam("p_body"))
)


#: True while the key (`p_lookup`) has no live row at `p_now`: what guards a write that
#: claims its key by being written (SQLite; see the module docstring).
UNCLAIMED = ~exists().where(_c.lookup == bindparam("p_lookup"), _c.expires_at > bindparam("p_now"))


@cache
def _postgresql_claim_cte() -> Any:
    """PostgreSQL's claim as a CTE of the write it guards."""
    return _postgresql_claim().cte("restly_claim")


#: The dialects whose single-statement writes carry their claim (see `claiming_guard`).
GUARDED_DIALECTS = frozenset({"sqlite", "postgresql"})
_ANSWER: dict[str, Any] = {
    "status": bindparam("p_status"),
    "headers": bindparam("p_headers"),
    "body": bindparam("p_body"),
}


@cache
def _sqlite_store() -> Any:
    """The key's row with its answer, written by a guarded write on SQLite; an expired row
    is taken over."""
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    statement = sqlite_insert(_table)
    return statement.values({**_NEW, **_ANSWER}).on_conflict_do_update(
        index_elements=[_c.lookup],
        set_={
            name: getattr(statement.excluded, name)
            for name in ("fingerprint", "created_at", "expires_at", "status", "headers", "body")
        },
        where=_c.expires_at <= bindparam("p_now"),
    )


@dataclass(frozen=True, slots=True)
class Claim:
    """A key this request claimed: its answer is to be recorded before the commit."""

    lookup: str


def claim(session: Session, lookup: str, fingerprint: str, ttl: float) -> Claim | Response:
    """Claim the key `lookup` for this request, or answer from what is stored.

    Returns a `Claim` (run the write, then `record`), or the stored answer to replay. Raises
    `IdempotencyKeyInFlight` (409, `Retry-After`) while another request holds the key, and
    `IdempotencyKeyReused` (422) when the key was used for another request.
    """
    parameters = claim_parameters(lookup, fingerprint, ttl)
    now = parameters["p_now"]
    connection = session.connection()
    try:
        stored = _claim(connection, parameters)
    except DBAPIError as error:
        if is_lock_wait(error) or classify(error) == "conflict":
            raise _in_flight() from None
        if is_missing_table(error):
            _log_missing_table()
        raise
    if stored is None:
        return Claim(lookup)
    return _answer(stored, fingerprint, now)


def _log_missing_table() -> None:
    logger.error(
        "restly's table %s does not exist: create it with fr.db.create_all(...) "
        "or fr.idempotency_metadata.create_all(engine), or add fr.idempotency_metadata "
        "to your Alembic target_metadata",
        IDEMPOTENCY_TABLE,
    )


def claim_parameters(
    lookup: str, fingerprint: str, ttl: float, dialect: str | None = None
) -> dict[str, Any]:
    """The bound parameters of a claim of `lookup` now (those of `claiming_guard` among
    them, for `dialect`)."""
    now = int(time.time())
    parameters = {
        "p_lookup": lookup,
        "p_fingerprint": fingerprint,
        "p_now": now,
        "p_expires": now + max(1, math.ceil(ttl)),
    }
    if dialect == "postgresql":
        parameters["p_lock"] = _advisory_lock(lookup)
    return parameters


def _advisory_lock(lookup: str) -> int:
    """The PostgreSQL advisory lock of the key `lookup` (64 bits of its hash)."""
    return int.from_bytes(bytes.fromhex(lookup[:16]), "big", signed=True)


def claiming_guard(dialect: str, values: Any) -> Any:
    """`values` (the `SELECT` of an `INSERT … SELECT` writing one row) made to claim the
    request's key as it writes: nothing is written when the key is claimed or answered
    (see the module docstring). Only for `GUARDED_DIALECTS`."""
    if dialect == "sqlite":
        return values.where(UNCLAIMED)
    assert dialect == "postgresql"
    claimed = _postgresql_claim_cte()
    return values.where(exists(select(claimed.c.lookup)))


def guarded_insert(dialect: str, insert_statement: Any) -> Any:
    """`insert_statement` (an `INSERT … SELECT` guarded by `claiming_guard`) with what its
    guard needs at its top: PostgreSQL's claim CTE."""
    if dialect == "postgresql":
        return insert_statement.add_cte(_postgresql_claim_cte())
    return insert_statement


_CLAIM_PARAMETERS = ("p_lookup", "p_fingerprint", "p_now", "p_expires")


def in_flight_instead(error: DBAPIError) -> IdempotencyKeyInFlight | None:
    """What a guarded write that failed with `error` answers instead: 409 when it waited
    for the database's write lock in vain (another request holds it: maybe the key's first
    one); `None` to let the error be answered as it is (restly's table missing is logged,
    as by `claim`)."""
    if is_lock_wait(error):
        return _in_flight()
    if is_missing_table(error):
        _log_missing_table()
    return None


def stored_answer(session: Session, parameters: dict[str, Any]) -> Response:
    """The answer to send when a write guarded by `claiming_guard` wrote nothing: the key's
    stored answer (422 for another request, 409 while another request holds the key)."""
    stored = session.connection().execute(_STORED, {"p_lookup": parameters["p_lookup"]}).first() or ()
    return _answer(stored, parameters["p_fingerprint"], parameters["p_now"])


def store(session: Session, parameters: dict[str, Any], response: Response) -> None:
    """Store `response` under the key its write claimed (`claiming_guard`), in the
    transaction about to commit the write: SQLite inserts the key's row with it; PostgreSQL
    completes the row its claim inserted, as `record` does."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        connection.execute(_RECORD, {"p_lookup": parameters["p_lookup"], **_answer_values(response)})
        return
    values = {name: parameters[name] for name in _CLAIM_PARAMETERS}
    result = connection.execute(_sqlite_store(), {**values, **_answer_values(response)})
    if result.rowcount != 1:  # the guard ran under the write lock: it cannot be taken
        raise _in_flight()


def _answer_values(response: Response) -> dict[str, Any]:
    """`response` as the columns of a stored answer: the status, the body and every header
    (but `Content-Length`, which a replay computes again)."""
    headers = {name: value for name, value in response.headers.items() if name != "content-length"}
    body = bytes(response.body)
    return {
        "p_status": response.status_code,
        "p_headers": json.dumps(headers, separators=(",", ":")),
        "p_body": body.decode() if body else None,
    }


def _claim(connection: Connection, parameters: dict[str, Any]) -> Any:
    """Claim the key (then `None`), or return its stored row (`()` when none is visible)."""
    dialect = connection.dialect.name
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            lock = _advisory_lock(parameters["p_lookup"])
            if connection.execute(_postgresql_claim(), {**parameters, "p_lock": lock}).first():
                return None
        elif connection.execute(_sqlite_claim(), parameters).rowcount == 1:
            return None
        return connection.execute(_STORED, parameters).first() or ()
    # MySQL/MariaDB (and others): read the row locked, without waiting for a holder.
    read = _STORED_LOCKED if dialect in ("mysql", "mariadb") else _STORED.with_for_update()
    row = connection.execute(read, parameters).first()
    if row is None:
        try:
            connection.execute(_INSERT, parameters)
        except IntegrityError:
            raise _in_flight() from None  # a first request committed it meanwhile
        return None
    if row.status is not None and row.expires_at <= parameters["p_now"]:
        connection.execute(_RENEW, parameters)
        return None
    return row


def _answer(stored: Any, fingerprint: str, now: int) -> Response:
    """The stored answer to replay; 409 while the key is in flight, 422 if reused."""
    if not stored or stored.status is None or stored.expires_at <= now:
        raise _in_flight()  # not visible yet, not completed, or being claimed anew
    if stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    headers = {**json.loads(stored.headers or "{}"), REPLAYED_HEADER.lower(): "true"}
    body = None if stored.body is None else stored.body.encode()
    return Response(body, status_code=stored.status, headers=headers)


def _in_flight() -> IdempotencyKeyInFlight:
    return IdempotencyKeyInFlight(retry_after=RETRY_AFTER_SECONDS)


def record(session: Session, claimed: Claim, response: Response) -> None:
    """Store `response`, the answer of the claimed key's request, in the transaction about
    to commit its write: the status, the body and every header (but `Content-Length`,
    which a replay computes again)."""
    session.connection().execute(_RECORD, {"p_lookup": claimed.lookup, **_answer_values(response)})


def purge_expired(session: Session, *, now: float | None = None) -> int:
    """Delete the keys past their expiry; return how many. The caller commits.

    ::

        with fr.session() as session:      # committed when the block ends
            fr.idempotency.purge_expired(session)

    Run it from a scheduled job; an expired key is also claimed anew when a client reuses it,
    so purging only reclaims space.
    """
    moment = int(time.time() if now is None else now)
    result = session.connection().execute(delete(_table).where(_c.expires_at <= moment))
    return int(result.rowcount or 0)


async def async_claim(
    session: AsyncSession, lookup: str, fingerprint: str, ttl: float
) -> Claim | Response:
    """`claim` on an async session (run on its greenlet)."""
    return await session.run_sync(claim, lookup, fingerprint, ttl)


async def async_record(session: AsyncSession, claimed: Claim, response: Response) -> None:
    """`record` on an async session."""
    await session.run_sync(record, claimed, response)


async def async_stored_answer(session: AsyncSession, parameters: dict[str, Any]) -> Response:
    """`stored_answer` on an async session."""
    return await session.run_sync(stored_answer, parameters)


async def async_store(session: AsyncSession, parameters: dict[str, Any], response: Response) -> None:
    """`store` on an async session."""
    await session.run_sync(store, parameters, response)


async def async_purge_expired(session: AsyncSession, *, now: float | None = None) -> int:
    """`purge_expired` on an async session."""
    return await session.run_sync(lambda sync: purge_expired(sync, now=now))
