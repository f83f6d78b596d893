"""Class-based views: ``View``, route decorators, and the generated REST views."""

from ._base import View
from ._persistence import (
    async_delete_object,
    async_make_new_object,
    async_save_object,
    async_update_object,
    delete_object,
    make_new_object,
    save_object,
    update_object,
)
from ._rest import AsyncRestView, BaseRestView, ErrorDetail, RestView
from ._routing import RouteSpec, delete, get, patch, post, put, route
from ._derive import Page

__all__ = [
    "AsyncRestView",
    "BaseRestView",
    "ErrorDetail",
    "Page",
    "RestView",
    "RouteSpec",
    "View",
    "async_delete_object",
    "async_make_new_object",
    "async_save_object",
    "async_update_object",
    "delete",
    "delete_object",
    "get",
    "make_new_object",
    "patch",
    "post",
    "put",
    "route",
    "save_object",
    "update_object",
]
