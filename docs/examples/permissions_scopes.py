from dataclasses import dataclass
from typing import Annotated, Optional

from fastapi import Depends, FastAPI, Header, HTTPException
from sqlalchemy import ColumnElement, ForeignKey, or_
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr


class Base(DeclarativeBase):
    pass


class Post(Base):
    __tablename__ = "post"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    owner: Mapped[str]
    published: Mapped[bool] = mapped_column(default=False)
    comments: Mapped[list["Comment"]] = relationship(order_by="Comment.id")


class Comment(Base):
    __tablename__ = "comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id"))
    post: Mapped[Optional[Post]] = relationship(back_populates="comments")


# --8<-- [start:scope]
@dataclass
class User:
    name: str
    is_admin: bool = False


USERS = {"ann": User("ann"), "bob": User("bob"), "root": User("root", is_admin=True)}


async def current_user(x_user: Annotated[str, Header()]) -> User:
    if x_user not in USERS:
        raise HTTPException(401, "Unknown user")
    return USERS[x_user]


CurrentUser = Annotated[User, Depends(current_user)]


@fr.scope(Post)
def visible_posts(user: CurrentUser) -> ColumnElement[bool] | None:
    """Published posts, and your own drafts; admins see everything."""
    if user.is_admin:
        return None  # no restriction
    return or_(Post.published, Post.owner == user.name)


@fr.scope(Comment)
def visible_comments() -> ColumnElement[bool]:
    """Comments of the posts you can see: the EXISTS is scoped by visible_posts."""
    return Comment.post.has()
# --8<-- [end:scope]


# --8<-- [start:views]
class CommentSchema(fr.IDSchema):
    text: str
    post_id: fr.IDRef[Post]  # a reference: a hidden post answers like a missing one


class PostBrief(fr.IDSchema):
    title: str


class CommentWithPost(CommentSchema):
    post: fr.ReadOnly[PostBrief | None] = None  # a hidden post is shown as null


class PostSchema(fr.IDSchema):
    title: str
    published: bool = False
    comments: fr.ReadOnly[list[CommentSchema]] = []


fr.configure(async_database_url="sqlite+aiosqlite:///app.db")
app = FastAPI()


@fr.include_view(app)
class PostView(fr.AsyncRestView):
    prefix = "/posts"
    model = Post
    schema = PostSchema
    user: CurrentUser  # the scope's own dependency: resolved once per request

    async def make_new_object(self, schema_obj: PostSchema) -> Post:
        post: Post = await super().make_new_object(schema_obj)
        post.owner = self.user.name
        return post


@fr.include_view(app)
class CommentView(fr.AsyncRestView):
    prefix = "/comments"
    model = Comment
    schema = CommentWithPost
# --8<-- [end:views]
