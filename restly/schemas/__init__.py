"""Schemas: base classes, field markers and schema derivation from models."""

from ._base import BaseSchema, IDSchema
from ._derive import creation_schema_for, response_schema_for, update_schema_for
from ._generate import column_python_type as column_python_type  # internal: query/
from ._generate import create_schema_from_model
from ._markers import ReadOnly, WriteOnly, is_read_only, is_write_only
from ._mixins import TimestampsSchemaMixin
from ._refs import IDRef, RefTarget, idref_target
from ._secrets import SecretTree as SecretTree
from ._secrets import hide_write_only as hide_write_only
from ._secrets import write_only_tree as write_only_tree

__all__ = [
    "BaseSchema",
    "IDRef",
    "IDSchema",
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
