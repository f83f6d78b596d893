"""`fr.WriteOnly` / `fr.ReadOnly` wherever they sit in an annotation, over HTTP.

A write-only value must reach no response (single, list, nested, react-admin), no filter or
sort key, and no validation error; a read-only field must never be accepted on input, also
when it is optional.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Optional, Union

import httpx
import pytest
from fastapi import FastAPI
from pydantic import Field
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr
from restly.schemas import hide_write_only, is_read_only, is_write_only, write_only_tree

pytestmark = pytest.mark.anyio

SECRET = "hunter2-very-secret"


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "wo_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(100))
    password: Mapped[str | None] = mapped_column(String(100))
    pin: Mapped[str | None] = mapped_column(String(100))
    recovery: Mapped[list[str] | None] = mapped_column(JSON)
    role: Mapped[str] = mapped_column(String(20), default="user")


class Profile(Base):
    __tablename__ = "wo_profile"
    id: Mapped[int] = mapped_column(primary_key=True)
    nickname: Mapped[str] = mapped_column(String(50))
    account_id: Mapped[int] = mapped_column(ForeignKey("wo_account.id"))
    account: Mapped[Account] = relationship(lazy="raise")


class AccountSchema(fr.IDSchema):
    email: str
    # every spelling of "an optional secret" that the annotation grammar allows
    password: fr.WriteOnly[str] | None = None
    pin: Optional[Annotated[fr.WriteOnly[str], Field(min_length=4)]] = None  # noqa: UP045
    recovery: Union[list[fr.WriteOnly[str]], None] = None  # noqa: UP007
    role: fr.ReadOnly[str] | None = None


class ProfileSchema(fr.IDSchema):
    nickname: str
    account_id: int
    account: fr.ReadOnly[AccountSchema] | None = None


def test_markers_are_found_wherever_they_sit_in_the_annotation() -> None:
    fields = AccountSchema.model_fields
    assert all(is_write_only(fields[name]) for name in ("password", "pin", "recovery"))
    assert not is_write_only(fields["email"]) and not is_write_only(fields["role"])
    assert is_read_only(fields["role"]) and not is_read_only(fields["password"])
    assert is_read_only(ProfileSchema.model_fields["account"])


def test_derived_schemas_drop_optional_markers() -> None:
    class AccountView(fr.AsyncRestView):
        prefix = "/accounts"
        model = Account
        schema = AccountSchema

    assert set(AccountView.response_schema.model_fields) == {"id", "email", "role"}
    assert set(AccountView.creation_schema.model_fields) == {"email", "password", "pin", "recovery"}
    assert "role" not in AccountView.update_schema.model_fields


@pytest.fixture(params=["async", "sync"])
def views(request: pytest.FixtureRequest) -> tuple[type, type]:
    if request.param == "async":
        return fr.AsyncRestView, fr.AsyncReactAdminView
    return fr.RestView, fr.ReactAdminView


@pytest.fixture
def app(views: tuple[type, type], database: Any) -> FastAPI:
    rest, react_admin = views
    app = FastAPI()
    fr.include_view(
        app,
        type("AccountView", (rest,), {"prefix": "/accounts", "model": Account, "schema": AccountSchema}),
        type("ProfileView", (rest,), {"prefix": "/profiles", "model": Profile, "schema": ProfileSchema}),
        type(
            "AdminAccountView",
            (react_admin,),
            {"prefix": "/admin/accounts", "model": Account, "schema": AccountSchema},
        ),
    )
    return app


@pytest.fixture
def client(app: FastAPI, client_for: Callable[[FastAPI], httpx.AsyncClient]) -> httpx.AsyncClient:
    return client_for(app)


def assert_no_secret(response: httpx.Response) -> None:
    assert SECRET not in response.text
    assert SECRET[:8] not in response.text  # not even a prefix of it


async def create_account(client: httpx.AsyncClient) -> dict[str, Any]:
    body = {"email": "ann@example.com", "password": SECRET, "pin": SECRET, "recovery": [SECRET]}
    response = await client.post("/accounts", json=body)
    assert response.status_code == 201, response.text
    assert_no_secret(response)
    return dict(response.json())


async def test_optional_write_only_values_are_stored_but_never_answered(
    client: httpx.AsyncClient,
) -> None:
    created = await create_account(client)
    assert created == {"id": created["id"], "email": "ann@example.com", "role": "user"}
    answers = [
        await client.get(f"/accounts/{created['id']}"),
        await client.get("/accounts"),
        await client.get("/accounts", params={"page_size": 10}),
        await client.patch(f"/accounts/{created['id']}", json={"password": SECRET + "!"}),
        await client.get("/admin/accounts"),
        await client.get(f"/admin/accounts/{created['id']}"),
        await client.put(f"/admin/accounts/{created['id']}", json={"email": "b@example.com"}),
    ]
    for response in answers:
        assert response.status_code == 200, response.text
        assert_no_secret(response)
        assert "password" not in response.text and "recovery" not in response.text


async def test_a_nested_object_hides_its_write_only_fields(client: httpx.AsyncClient) -> None:
    account = await create_account(client)
    profile = await client.post("/profiles", json={"nickname": "ann", "account_id": account["id"]})
    assert profile.status_code == 201, profile.text
    for response in (
        await client.get(f"/profiles/{profile.json()['id']}"),
        await client.get("/profiles"),
    ):
        assert response.status_code == 200, response.text
        assert_no_secret(response)
        assert "password" not in response.text


async def test_the_stored_value_is_the_one_sent(client: httpx.AsyncClient, database: Any) -> None:
    created = await create_account(client)
    async with fr.async_session() as session:
        account = await session.get(Account, created["id"])
        assert account is not None
        assert (account.password, account.pin, account.recovery) == (SECRET, SECRET, [SECRET])


@pytest.mark.parametrize(
    "params",
    [
        {"password": SECRET},
        {"pin__contains": "hunter"},
        {"recovery": SECRET},
        {"order_by": "password"},
        {"order_by": "-pin"},
    ],
)
async def test_write_only_fields_are_neither_filterable_nor_sortable(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    await create_account(client)
    response = await client.get("/accounts", params=params)
    assert response.status_code == 422, response.text
    # refused as unknown, like any key that is not a field: the client's own query value may
    # be quoted back, but nothing was compared with the stored secret
    assert "password" in response.text or "pin" in response.text or "recovery" in response.text


@pytest.mark.parametrize(
    "params",
    [
        {"filter": json.dumps({"password": SECRET})},
        {"filter": json.dumps({"pin_q": "hunter"})},
        {"sort": json.dumps(["password", "ASC"])},
    ],
)
async def test_react_admin_cannot_filter_or_sort_on_write_only_fields(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    await create_account(client)
    response = await client.get("/admin/accounts", params=params)
    assert response.status_code == 400, response.text


async def test_an_optional_read_only_field_is_not_accepted_on_input(
    client: httpx.AsyncClient,
) -> None:
    created = (await client.post("/accounts", json={"email": "a@b.c", "role": "admin"})).json()
    assert created["role"] == "user"
    patched = await client.patch(f"/accounts/{created['id']}", json={"role": "admin"})
    assert patched.status_code == 200 and patched.json()["role"] == "user"


@pytest.mark.parametrize(
    ("body", "secret"),
    [
        ({"email": "a@b.c", "pin": "hun"}, "hun"),  # too short: an error about the secret
        ({"pin": SECRET, "password": SECRET, "recovery": [SECRET]}, SECRET),  # no email
        ({"email": ["not", "a", "string"], "password": SECRET}, SECRET),
        ({"email": "a@b.c", "recovery": [SECRET, 5]}, SECRET),  # an item of a secret list
        ([SECRET], SECRET),  # not an object at all
    ],
)
async def test_validation_errors_do_not_echo_write_only_values(
    client: httpx.AsyncClient, body: Any, secret: str
) -> None:
    for response in (
        await client.post("/accounts", json=body),
        await client.patch("/accounts/1", json=body),
        await client.post("/admin/accounts", json=body),
    ):
        assert response.status_code in (404, 422), response.text
        assert secret not in response.text, response.text


async def test_validation_errors_still_echo_other_fields(client: httpx.AsyncClient) -> None:
    response = await client.post("/accounts", json={"email": ["x"], "password": SECRET})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "email"] and error["input"] == ["x"]
    missing = await client.post("/accounts", json={"password": SECRET, "pin": "1234"})
    (error,) = missing.json()["detail"]
    assert error["type"] == "missing" and error["input"] == {}


class Node(fr.BaseSchema):
    name: str
    token: fr.WriteOnly[str] | None = None
    children: list[Node] = []


class Login(fr.BaseSchema):
    username: str
    password: Annotated[fr.WriteOnly[str], Field(min_length=12)]


def test_a_self_nesting_schema_hides_its_secrets_at_every_depth() -> None:
    tree = write_only_tree(Node)
    errors = [
        {
            "type": "missing",
            "loc": ("body", "children", 0, "children", 1, "name"),
            "input": {"token": SECRET, "children": [{"token": SECRET, "name": "x"}]},
        }
    ]
    (hidden,) = hide_write_only(errors, tree)
    assert hidden["input"] == {"children": [{"name": "x"}]}
    assert write_only_tree(Login) == {"username": False, "password": True}
    assert write_only_tree(AccountSchema)["pin"] is True
    assert write_only_tree(ProfileSchema) != {}  # nests the account
    assert write_only_tree(int) == {} and write_only_tree(Annotated[str, Field()]) == {}


async def test_a_custom_route_of_a_view_hides_write_only_values_too(
    client_for: Callable[[FastAPI], httpx.AsyncClient],
) -> None:
    class SessionView(fr.View):
        prefix = "/sessions"

        @fr.post("")
        async def login(self, body: Login) -> dict[str, str]:
            return {"user": body.username}

    app = FastAPI()
    fr.include_view(app, SessionView)
    client = client_for(app)
    response = await client.post("/sessions", json={"username": "ann", "password": "tiny-pw"})
    assert response.status_code == 422
    assert "tiny-pw" not in response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "password"] and error["type"] == "string_too_short"
    ok = await client.post("/sessions", json={"username": "ann", "password": "long enough pw"})
    assert ok.status_code == 201 and ok.json() == {"user": "ann"}
