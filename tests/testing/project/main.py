"""The user project's app: an async view and a sync view."""

from contextlib import asynccontextmanager

from fastapi import FastAPI

import restly as fr
from models import Item, Note
from runtime import APP_GLOBALS



@asynccontextmanager
async def lifespan(app):
    app.state.lifespan = "started"
    yield


app = FastAPI(lifespan=lifespan)

with fr.use_fr_globals(APP_GLOBALS):

    @fr.include_view(app)
    class ItemView(fr.AsyncRestView):
        prefix = "/items"
        model = Item

    @fr.include_view(app)
    class NoteView(fr.RestView):
        prefix = "/notes"
        model = Note
