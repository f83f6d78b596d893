"""Idempotent retries of POST and PATCH: the `Idempotency-Key` header.

```python
import restly as fr

@fr.include_view(app)
class OrderView(fr.AsyncRestView):
    prefix = "/orders"
    model = Order
    idempotency = "required"            # True (default), False, or "required"

    def idempotency_scope(self) -> str:  # whose keys these are (default: everyone's, "")
        return str(self.user.id)
```

A client sends `Idempotency-Key: "<a new UUID>"` with a POST or PATCH and may repeat the
request as often as it needs: the write runs once, and every repeat gets the first answer
again, with `Idempotent-Replayed: true`. Keys live in restly's own table
(`idempotency_metadata`, created by `fr.db.create_all`), in the application's database, and
expire after `fr.configure(idempotency_ttl=...)` seconds (24 hours by default).

`_keys` reads the header and guards the routes; `_store` claims keys and stores answers in
the request's transaction, with the statements of `_statements`; `_table` is the table;
`_openapi` documents the header.
"""

from ._keys import HEADER, MAX_KEY_LENGTH, IdempotentRequest, current_request, fingerprint, parse_key
from ._store import (
    REPLAYED_HEADER,
    RETRY_AFTER_SECONDS,
    Claim,
    async_claim,
    async_purge_expired,
    async_record,
    claim,
    purge_expired,
    record,
)
from ._table import IDEMPOTENCY_TABLE, idempotency_keys, idempotency_metadata

# For the rest of restly (`X as X` marks an intended re-export); not part of the public API.
from ._statements import GUARDED_DIALECTS as GUARDED_DIALECTS
from ._statements import UNCLAIMED as UNCLAIMED
from ._statements import claiming_guard as claiming_guard
from ._statements import guarded_insert as guarded_insert
from ._store import async_store as async_store
from ._store import async_stored_answer as async_stored_answer
from ._store import claim_parameters as claim_parameters
from ._store import in_flight_instead as in_flight_instead
from ._store import store as store
from ._store import stored_answer as stored_answer
from ._keys import guard_handler as guard_handler
from ._openapi import REPLAYED_HEADER_DOC as REPLAYED_HEADER_DOC
from ._openapi import REUSED_DOC as REUSED_DOC
from ._openapi import key_parameter_doc as key_parameter_doc

#: Default lifetime of a key, in seconds (`fr.configure(idempotency_ttl=...)`).
DEFAULT_TTL = 24 * 60 * 60

__all__ = [
    "DEFAULT_TTL",
    "HEADER",
    "IDEMPOTENCY_TABLE",
    "MAX_KEY_LENGTH",
    "REPLAYED_HEADER",
    "RETRY_AFTER_SECONDS",
    "Claim",
    "IdempotentRequest",
    "async_claim",
    "async_purge_expired",
    "async_record",
    "claim",
    "current_request",
    "fingerprint",
    "idempotency_keys",
    "idempotency_metadata",
    "parse_key",
    "purge_expired",
    "record",
]
