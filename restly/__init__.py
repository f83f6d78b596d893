"""restly: class-based REST resources for FastAPI from SQLAlchemy 2.0 models.

```python
import restly as fr

fr.configure(async_database_url="sqlite+aiosqlite:///app.db")

@fr.include_view(app)
class WorldView(fr.AsyncRestView):
    prefix = "/world"
    model = World
```

Every public name lives in a submodule (`restly.db`, `restly.views`, `restly.schemas`,
`restly.query`, `restly.exc`, `restly.idempotency`) and is re-exported here; `restly.testing` holds the
test clients and the pytest plugin.
"""

from . import db, exc, idempotency, models, query, schemas, testing, views
from .db import (
    AsyncSessionDep,
    FRGlobals,
    SessionDep,
    async_create_all,
    async_open_session,
    async_session,
    configure,
    create_all,
    get_async_engine,
    get_engine,
    get_fr_globals,
    open_async_session,
    open_session,
    session,
    use_fr_globals,
)
from .exc import RestlyConfigurationError, RestlyError
from .idempotency import idempotency_metadata
from .models import (
    DataclassBase,
    IDBase,
    IDMixin,
    TimestampsMixin,
    UTCDateTime,
    async_get_one_or_create,
    get_one_or_create,
)
from .mount import include_view, include_views, serve_docs_offline
from .query import apply_list_params, create_list_params_schema
from .registry import ViewRegistry
from .resource import ResourceMeta, scope
from .schemas import (
    BaseSchema,
    IDRef,
    IDSchema,
    MustExist,
    ReadOnly,
    TimestampsSchemaMixin,
    WriteOnly,
    create_schema_from_model,
    idref_target,
)
from .views import (
    Action,
    AsyncReactAdminView,
    AsyncRestView,
    ReactAdminView,
    RestView,
    View,
    ViewRoute,
    WriteAction,
    async_delete_object,
    async_make_new_object,
    async_save_object,
    async_update_object,
    delete,
    delete_object,
    get,
    make_new_object,
    patch,
    post,
    put,
    route,
    save_object,
    update_object,
)

__version__ = "0.1.0"

__all__ = [
    "Action",
    "AsyncReactAdminView",
    "AsyncRestView",
    "AsyncSessionDep",
    "BaseSchema",
    "DataclassBase",
    "FRGlobals",
    "IDBase",
    "IDMixin",
    "IDRef",
    "IDSchema",
    "MustExist",
    "ReactAdminView",
    "ReadOnly",
    "ResourceMeta",
    "RestView",
    "RestlyConfigurationError",
    "RestlyError",
    "SessionDep",
    "TimestampsMixin",
    "TimestampsSchemaMixin",
    "UTCDateTime",
    "View",
    "ViewRegistry",
    "ViewRoute",
    "WriteAction",
    "WriteOnly",
    "apply_list_params",
    "async_create_all",
    "async_delete_object",
    "async_get_one_or_create",
    "async_make_new_object",
    "async_open_session",
    "async_save_object",
    "async_session",
    "async_update_object",
    "configure",
    "create_all",
    "create_list_params_schema",
    "create_schema_from_model",
    "db",
    "delete",
    "delete_object",
    "exc",
    "get",
    "get_async_engine",
    "get_engine",
    "get_fr_globals",
    "get_one_or_create",
    "idempotency",
    "idempotency_metadata",
    "idref_target",
    "include_view",
    "include_views",
    "make_new_object",
    "models",
    "open_async_session",
    "open_session",
    "patch",
    "post",
    "put",
    "query",
    "route",
    "save_object",
    "schemas",
    "scope",
    "serve_docs_offline",
    "session",
    "testing",
    "update_object",
    "use_fr_globals",
    "views",
]
