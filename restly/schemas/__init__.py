"""Schemas: base classes, field markers and schema derivation from models."""

from ._base import BaseSchema, IDSchema
from ._markers import ReadOnly, WriteOnly, is_read_only, is_write_only

__all__ = ["BaseSchema", "IDSchema", "ReadOnly", "WriteOnly", "is_read_only", "is_write_only"]
