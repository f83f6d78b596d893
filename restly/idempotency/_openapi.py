"""How `Idempotency-Key` is documented in OpenAPI: the header and what a replay carries.

```python
key_parameter_doc("required", ttl=86400)   # the header parameter of a POST/PATCH operation
```

The error answers (400, 409, 422) are added by the views' `write_docs`/`write_parameters`
(`restly.views._responses`), next to the other errors a write documents.
"""

from __future__ import annotations

from typing import Any

from ._keys import HEADER, MAX_KEY_LENGTH
from ._store import REPLAYED_HEADER

__all__ = ["KEY_PATTERN", "REPLAYED_HEADER_DOC", "REUSED_DOC", "key_parameter_doc"]

#: The response header of a replayed answer, as OpenAPI documents it.
REPLAYED_HEADER_DOC: dict[str, Any] = {
    REPLAYED_HEADER: {
        "description": f"true: the stored answer of an earlier request with this {HEADER}, "
        "replayed; nothing ran",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
#: The values `parse_key` accepts, as a JSON Schema pattern: an sf-string of 1 to 255
#: characters (visible ASCII and spaces; `\"` and `\\` escaped) or a token of 1 to 255
#: visible ASCII characters other than `"`, `\`, `,` and `;`.
KEY_PATTERN = (
    rf'^(?:"(?:[ !#-\[\]-~]|\\["\\]){{1,{MAX_KEY_LENGTH}}}"'
    rf"|[!#-+\--:<-\[\]-~]{{1,{MAX_KEY_LENGTH}}})$"
)
#: What a 422 of a route honouring the header means.
REUSED_DOC = f"Invalid request, or this {HEADER} was used for another request"


def key_parameter_doc(mode: bool | str, ttl: float) -> dict[str, Any]:
    """The `Idempotency-Key` header parameter of a route (`mode` `"required"` or `True`),
    saying how long keys are kept (`ttl`, seconds)."""
    hours = ttl / 3600
    lifetime = f"{hours:g} hours" if hours >= 1 else f"{hours * 60:g} minutes"
    return {
        "name": HEADER,
        "in": "header",
        "required": mode == "required",
        "description": (
            "Makes the request safe to retry: a new unique value (a UUID) per request, as "
            f'an RFC 8941 string ("8e03978e-...") or a bare token; 1 to {MAX_KEY_LENGTH} '
            "visible ASCII characters. A repeat with the same key and body gets the first "
            f"answer again, with {REPLAYED_HEADER}: true, and runs nothing. Keys are kept "
            f"{lifetime}."
        ),
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": 2 * MAX_KEY_LENGTH + 2,
            "pattern": KEY_PATTERN,
        },
    }
