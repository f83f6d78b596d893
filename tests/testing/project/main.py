"""The user project's app: an async view and a sync view."""

from fastapi import FastAPI

import restly as fr
from models import Item, Note
from runtime import APP_GLOBALS

app = FastAPI()

with fr.use_fr_globals(APP_GLOBALS):

    @fr.include_view(app)
    class ItemView(fr.AsyncRestView):
        prefix = "/items"
        model = Item

    @fr.include_view(app)
    class NoteView(fr.RestView):
        prefix = "/notes"
        model = Note
