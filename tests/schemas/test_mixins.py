"""restly.schemas._mixins: the schema twin of TimestampsMixin."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

from restly.schemas import IDSchema, is_read_only
from restly.schemas._mixins import TimestampsSchemaMixin


class ArticleSchema(TimestampsSchemaMixin, IDSchema):
    title: str


def test_timestamps_are_read_only_and_follow_the_id() -> None:
    fields = ArticleSchema.model_fields

    assert list(fields) == ["id", "created_at", "updated_at", "title"]
    assert [name for name, field in fields.items() if is_read_only(field)] == [
        "id", "created_at", "updated_at"
    ]


def test_timestamps_are_read_from_orm_objects_and_serialized_with_their_zone() -> None:
    moment = datetime(2024, 5, 1, 10, 30, tzinfo=timezone.utc)
    row = SimpleNamespace(id=1, title="T", created_at=moment, updated_at=moment)

    data = ArticleSchema.model_validate(row).model_dump(mode="json")

    assert data == {
        "id": 1,
        "created_at": "2024-05-01T10:30:00Z",
        "updated_at": "2024-05-01T10:30:00Z",
        "title": "T",
    }


def test_json_schema_marks_timestamps_read_only() -> None:
    properties = ArticleSchema.model_json_schema()["properties"]

    assert properties["created_at"]["readOnly"] is True
    assert properties["updated_at"]["readOnly"] is True
    assert "readOnly" not in properties["title"]
