"""Database configuration and sessions, per application.

```python
import restly as fr
from restly.db import FRGlobals, use_fr_globals

fr.configure(async_database_url="sqlite+aiosqlite:///app.db")

async with fr.async_session() as session:
    ...
```
"""

from ._config import configure
from ._engine import PoolSettings, build_async_engine, build_engine
from ._globals import FRGlobals, get_fr_globals, use_fr_globals
from ._replicas import Replicas, RoutingSession, use_primary
from ._schema import async_create_all, create_all
from ._scopes import Scope, ScopeRegistry, scope_session
from ._session import (
    AsyncPrimarySessionDep,
    AsyncSessionDep,
    PrimarySessionDep,
    SessionDep,
    async_open_session,
    async_session,
    get_async_engine,
    get_async_primary_session,
    get_async_session,
    get_engine,
    get_primary_session,
    get_session,
    open_async_session,
    open_session,
    session,
)

# For the rest of restly (`X as X` marks an intended re-export); not part of the public API.
from ._globals import activate as activate
from ._globals import deactivate as deactivate
from ._scopes import WRITTEN as WRITTEN
from ._scopes import scope_criteria as scope_criteria
from ._scopes import session_scopes as session_scopes
from ._reads import async_read_and_commit as async_read_and_commit
from ._reads import async_read_page as async_read_page
from ._reads import async_read_rows as async_read_rows
from ._reads import execute_rows as execute_rows
from ._reads import read_and_commit as read_and_commit
from ._reads import read_page as read_page
from ._reads import read_rows as read_rows
from ._session import async_commit as async_commit
from ._session import commit as commit
from ._session import enter_async_session as enter_async_session
from ._session import enter_session as enter_session

__all__ = [
    "AsyncPrimarySessionDep",
    "AsyncSessionDep",
    "FRGlobals",
    "PoolSettings",
    "PrimarySessionDep",
    "Replicas",
    "RoutingSession",
    "Scope",
    "ScopeRegistry",
    "SessionDep",
    "async_create_all",
    "async_open_session",
    "async_session",
    "build_async_engine",
    "build_engine",
    "configure",
    "create_all",
    "get_async_engine",
    "get_async_primary_session",
    "get_async_session",
    "get_engine",
    "get_fr_globals",
    "get_primary_session",
    "get_session",
    "open_async_session",
    "open_session",
    "scope_session",
    "session",
    "use_fr_globals",
    "use_primary",
]
