"""Derived creation, update and response schemas keep config, aliases and validators."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

import restly as fr
from restly.schemas import creation_schema_for, response_schema_for, update_schema_for


class UserSchema(fr.IDSchema):
    name: Annotated[str, Field(alias="displayName", max_length=8)]
    password: fr.WriteOnly[str]
    email: str | None = None

    @field_validator("name")
    @classmethod
    def strip(cls, value: str) -> str:
        return value.strip()

    @model_validator(mode="after")
    def not_admin(self) -> UserSchema:
        if getattr(self, "name", None) == "admin":
            raise ValueError("admin is reserved")
        return self


class PostSchema(fr.IDSchema):
    title: str
    author: UserSchema | None = None
    readers: list[UserSchema] = []


def test_creation_schema_drops_read_only_fields_and_keeps_the_rest() -> None:
    create = creation_schema_for(UserSchema)
    assert create.__name__ == "UserCreate"
    assert list(create.model_fields) == ["name", "password", "email"]
    user = create.model_validate({"displayName": "  ann ", "password": "pw"})
    assert user.name == "ann"  # type: ignore[attr-defined]  # validator kept
    with pytest.raises(ValidationError, match="admin is reserved"):
        create.model_validate({"displayName": "admin", "password": "pw"})
    with pytest.raises(ValidationError, match="string_too_long|at most 8"):
        create.model_validate({"displayName": "x" * 9, "password": "pw"})


def test_update_schema_makes_every_field_optional_and_tracks_what_was_sent() -> None:
    update = update_schema_for(UserSchema)
    assert update.__name__ == "UserUpdate"
    sent = update.model_validate({"email": "a@b.c"})
    assert sent.model_fields_set == {"email"}
    with pytest.raises(ValidationError):
        update.model_validate({"displayName": None})  # optional, but not nullable


def test_response_schema_hides_write_only_fields_also_when_nested() -> None:
    read = response_schema_for(UserSchema)
    assert read.__name__ == "UserRead" and "password" not in read.model_fields
    post_read = response_schema_for(PostSchema)
    document = post_read.model_json_schema()
    assert "password" not in str(document)
    user = {"id": 1, "displayName": "ann", "password": "secret"}
    dumped = post_read.model_validate({"id": 1, "title": "t", "author": user, "readers": [user]})
    assert "secret" not in dumped.model_dump_json()
    assert dumped.model_dump(by_alias=True)["author"] == {"id": 1, "displayName": "ann", "email": None}


def test_schemas_without_fields_to_drop_are_reused() -> None:
    class Plain(fr.BaseSchema):
        model_config = ConfigDict(extra="ignore")
        title: str

    assert creation_schema_for(Plain) is Plain
    assert response_schema_for(Plain) is Plain
    assert update_schema_for(Plain) is not Plain
    assert creation_schema_for(UserSchema) is creation_schema_for(UserSchema)


def test_input_schemas_refuse_unknown_fields_unless_the_schema_chose_otherwise() -> None:
    class Plain(fr.BaseSchema):
        title: str

    class Lenient(fr.BaseSchema):
        model_config = ConfigDict(extra="ignore")
        title: str

    for derive in (creation_schema_for, update_schema_for):
        with pytest.raises(ValidationError, match="extra_forbidden"):
            derive(Plain).model_validate({"title": "t", "titel": "typo"})
        assert derive(Lenient).model_validate({"title": "t", "titel": "x"}).title == "t"
    assert creation_schema_for(Plain).__name__ == "PlainCreate"


def test_read_only_fields_sent_as_input_are_ignored_not_refused() -> None:
    for derive in (creation_schema_for, update_schema_for):
        obj = derive(UserSchema).model_validate(
            {"id": 7, "displayName": "ann", "password": "x"}
        )
        assert "id" not in obj.model_fields_set and not hasattr(obj, "id")


def test_input_schemas_document_the_read_only_fields_they_ignore() -> None:
    """The document and the behaviour agree: ``additionalProperties: false`` refuses what
    is not listed, and the read-only fields a client may send back are listed as
    ``readOnly`` (accepted, ignored) with their type."""
    class Stamped(fr.TimestampsSchemaMixin, fr.IDSchema):
        title: str

    for derive in (creation_schema_for, update_schema_for):
        for schema in (derive(UserSchema), derive(Stamped)):
            document = schema.model_json_schema(by_alias=True)
            assert document["additionalProperties"] is False
            ignored = {name for name, p in document["properties"].items() if p.get("readOnly")}
            wire = {field.alias or name for name, field in schema.model_fields.items()}
            accepted = wire | ignored
            assert accepted == document["properties"].keys()
        properties = derive(Stamped).model_json_schema(by_alias=True)["properties"]
        assert properties["id"] == {
            "type": "integer", "readOnly": True, "description": "Set by the server: ignored when sent."
        }  # fmt: skip
        assert properties["created_at"]["format"] == "date-time"
        assert not any(p.get("readOnly") for n, p in properties.items() if n == "title")
        sent = {"id": 7, "created_at": "2020-01-01T00:00:00Z", "title": "t"}
        assert derive(Stamped).model_validate(sent).model_dump(exclude_unset=True) == {"title": "t"}


def test_markers_document_themselves_in_json_schema() -> None:
    properties = UserSchema.model_json_schema(by_alias=True)["properties"]
    assert properties["id"]["readOnly"] is True
    assert properties["password"]["writeOnly"] is True
