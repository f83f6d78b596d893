"""Schemas: base classes, field markers, references and schema derivation from models.

Names outside ``__all__`` (``check_references``, ``references_in``, ...) are for the rest of
restly: other packages import them from here, never from the private modules.
"""

from ._base import BaseSchema, IDSchema
from ._derive import creation_schema_for, response_schema_for, update_schema_for
from ._generate import create_schema_from_model
from ._markers import ReadOnly, RefTarget, WriteOnly, is_read_only, is_write_only
from ._mixins import TimestampsSchemaMixin
from ._refs import IDRef, MustExist, idref_target

# For the rest of restly (`X as X` marks an intended re-export); not part of the public API.
from ._base import id_schema_for as id_schema_for
from ._page import Page as Page
from ._ref_fields import Reference as Reference
from ._ref_fields import check_references as check_references
from ._ref_fields import references_in as references_in
from ._refs import documenting as documenting
from ._refs import find_reference as find_reference
from ._resolve import MAX_IDS_PER_QUERY as MAX_IDS_PER_QUERY
from ._resolve import resolve_references as resolve_references
from ._secrets import SecretTree as SecretTree
from ._secrets import hide_write_only as hide_write_only
from ._secrets import write_only_tree as write_only_tree

__all__ = [
    "BaseSchema",
    "IDRef",
    "IDSchema",
    "MustExist",
    "ReadOnly",
    "RefTarget",
    "TimestampsSchemaMixin",
    "WriteOnly",
    "create_schema_from_model",
    "creation_schema_for",
    "idref_target",
    "is_read_only",
    "is_write_only",
    "response_schema_for",
    "update_schema_for",
]

