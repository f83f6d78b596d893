"""Class attributes annotated `Request`, `Response`, `BackgroundTasks` are injected per request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import BackgroundTasks, FastAPI, Request, Response
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr

pytestmark = pytest.mark.anyio


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "inj_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(50))


async def test_a_plain_view_reads_the_request_and_sets_the_response(
    fr_globals: fr.FRGlobals, client_for: Callable[[FastAPI], httpx.AsyncClient]
) -> None:
    done: list[str] = []

    class Echo(fr.View):
        prefix = "/echo"
        request: Request
        response: Response
        tasks: BackgroundTasks

        @fr.get("")
        async def echo(self) -> dict[str, str]:
            self.response.headers["X-Seen"] = self.request.headers["X-Ask"]
            self.tasks.add_task(done.append, "async")
            return {"path": self.request.url.path}

        @fr.get("/sync")
        def echo_sync(self) -> dict[str, str]:
            self.response.status_code = 202
            self.tasks.add_task(done.append, "sync")
            return {"method": self.request.method}

    app = FastAPI()
    fr.include_view(app, Echo)
    client = client_for(app)
    answer = await client.get("/echo", headers={"X-Ask": "hello"})
    assert answer.json() == {"path": "/echo"} and answer.headers["x-seen"] == "hello"
    sync = await client.get("/echo/sync")
    assert sync.status_code == 202 and sync.json() == {"method": "GET"}
    assert done == ["async", "sync"]


@pytest.fixture(params=["async", "sync"])
def note_view(request: pytest.FixtureRequest) -> tuple[type, list[str]]:
    audit: list[str] = []
    if request.param == "async":

        class AsyncNoteView(fr.AsyncRestView):
            prefix = "/notes"
            model = Note
            request: Request
            response: Response
            tasks: BackgroundTasks

            async def handle_create(self, schema_obj: Any) -> Any:
                obj = await super().handle_create(schema_obj)
                self.response.headers["X-Created-By"] = self.request.headers.get("X-User", "-")
                self.tasks.add_task(audit.append, f"created {obj.id}")
                return obj

        return AsyncNoteView, audit

    class NoteView(fr.RestView):
        prefix = "/notes"
        model = Note
        request: Request
        response: Response
        tasks: BackgroundTasks

        def handle_create(self, schema_obj: Any) -> Any:
            obj = super().handle_create(schema_obj)
            self.response.headers["X-Created-By"] = self.request.headers.get("X-User", "-")
            self.tasks.add_task(audit.append, f"created {obj.id}")
            return obj

    return NoteView, audit


async def test_generated_routes_keep_what_a_seam_set_on_the_response(
    database: Any,
    note_view: tuple[type, list[str]],
    client_for: Callable[[FastAPI], httpx.AsyncClient],
) -> None:
    view, audit = note_view
    app = FastAPI()
    fr.include_view(app, view)
    client = client_for(app)
    created = await client.post("/notes", json={"text": "hi"}, headers={"X-User": "ann"})
    assert created.status_code == 201, created.text
    assert created.headers["x-created-by"] == "ann"
    assert created.headers["content-length"] == str(len(created.content))
    assert audit == [f"created {created.json()['id']}"]
    listed = await client.get("/notes")  # the other routes are unaffected
    assert listed.status_code == 200 and "x-created-by" not in listed.headers


def test_injected_attributes_are_not_documented_as_parameters(fr_globals: fr.FRGlobals) -> None:
    class Echo(fr.View):
        prefix = "/echo"
        request: Request
        tasks: BackgroundTasks

        @fr.get("")
        async def echo(self) -> dict[str, str]:
            return {}

    app = FastAPI()
    fr.include_view(app, Echo)
    operation = app.openapi()["paths"]["/echo"]["get"]
    assert "parameters" not in operation and "requestBody" not in operation
