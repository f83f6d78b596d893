"""Schemas: base classes, field markers and schema derivation from models."""

from ._base import BaseSchema, IDSchema
from ._derive import creation_schema_for, response_schema_for, update_schema_for
from ._generate import create_schema_from_model
from ._markers import ReadOnly, WriteOnly, is_read_only, is_write_only

__all__ = [
    "BaseSchema",
    "IDSchema",
    "ReadOnly",
    "WriteOnly",
    "create_schema_from_model",
    "creation_schema_for",
    "is_read_only",
    "is_write_only",
    "response_schema_for",
    "update_schema_for",
]
