from fastapi import FastAPI

import restly as fr

app = FastAPI()
fr.configure(
    app,
    async_database_url="sqlite+aiosqlite:///app.db",
    health="/health",  # liveness: never touches the database
    ready="/ready",  # readiness: SELECT 1 on every configured engine
)
