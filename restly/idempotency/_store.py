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
from typing import Any

from sqlalchemy import Connection, delete
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from starlette.responses import Response

from .._faults import classify, is_lock_wait, is_missing_table
from ..exc import IdempotencyKeyInFlight, IdempotencyKeyReused
from ._statements import (
    INSERT_KEY,
    RECORD_ANSWER,
    RENEW_KEY,
    STORED,
    STORED_LOCKED,
    postgresql_claim,
    sqlite_claim,
    sqlite_store,
)
from ._table import IDEMPOTENCY_TABLE, idempotency_keys

__all__ = [
    "REPLAYED_HEADER",
    "RETRY_AFTER_SECONDS",
    "Claim",
    "async_claim",
    "async_purge_expired",
    "async_record",
    "async_store",
    "async_stored_answer",
    "claim",
    "claim_parameters",
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
    stored = session.connection().execute(STORED, {"p_lookup": parameters["p_lookup"]}).first() or ()
    return _answer(stored, parameters["p_fingerprint"], parameters["p_now"])


def store(session: Session, parameters: dict[str, Any], response: Response) -> None:
    """Store `response` under the key its write claimed (`claiming_guard`), in the
    transaction about to commit the write: SQLite inserts the key's row with it; PostgreSQL
    completes the row its claim inserted, as `record` does."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        connection.execute(RECORD_ANSWER, {"p_lookup": parameters["p_lookup"], **_answer_values(response)})
        return
    values = {name: parameters[name] for name in _CLAIM_PARAMETERS}
    result = connection.execute(sqlite_store(), {**values, **_answer_values(response)})
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
            if connection.execute(postgresql_claim(), {**parameters, "p_lock": lock}).first():
                return None
        elif connection.execute(sqlite_claim(), parameters).rowcount == 1:
            return None
        return connection.execute(STORED, parameters).first() or ()
    # MySQL/MariaDB (and others): read the row locked, without waiting for a holder.
    read = STORED_LOCKED if dialect in ("mysql", "mariadb") else STORED.with_for_update()
    row = connection.execute(read, parameters).first()
    if row is None:
        try:
            connection.execute(INSERT_KEY, parameters)
        except IntegrityError:
            raise _in_flight() from None  # a first request committed it meanwhile
        return None
    if row.status is not None and row.expires_at <= parameters["p_now"]:
        connection.execute(RENEW_KEY, parameters)
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
    session.connection().execute(RECORD_ANSWER, {"p_lookup": claimed.lookup, **_answer_values(response)})


def purge_expired(session: Session, *, now: float | None = None) -> int:
    """Delete the keys past their expiry; return how many. The caller commits.

    ::

        with fr.session() as session:      # committed when the block ends
            fr.idempotency.purge_expired(session)

    Run it from a scheduled job; an expired key is also claimed anew when a client reuses it,
    so purging only reclaims space.
    """
    moment = int(time.time() if now is None else now)
    result = session.connection().execute(delete(idempotency_keys).where(idempotency_keys.c.expires_at <= moment))
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
