"""restly: class-based REST resources for FastAPI from SQLAlchemy 2.0 models."""

from . import exc, schemas
from .schemas import BaseSchema, IDSchema, ReadOnly, WriteOnly

__all__ = ["BaseSchema", "IDSchema", "ReadOnly", "WriteOnly", "exc", "schemas"]
