"""Class-based views: ``View``, route decorators, and the generated REST views.

What runs on a request: the classes users subclass and their handlers. Building a class's
endpoints and compiled state happens beneath, in ``restly.resource``.
"""

from .._routing import RouteSpec, delete, get, patch, post, put, route
from ..schemas import Page
from ._actions import Action, ViewRoute, WriteAction
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
from ._react_admin import AsyncReactAdminView, ReactAdminView
from ._responses import ErrorDetail
from ._rest import AsyncRestView
from ._rest_sync import RestView
from ._rest_base import BaseRestView

__all__ = [
    "Action",
    "AsyncReactAdminView",
    "AsyncRestView",
    "BaseRestView",
    "ErrorDetail",
    "Page",
    "ReactAdminView",
    "RestView",
    "RouteSpec",
    "View",
    "ViewRoute",
    "WriteAction",
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
