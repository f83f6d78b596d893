import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from restly.testing import AsyncRestlyTestClient, async_assert_rows_hidden
from tenancy import Project, Task  # the multi-tenancy example's app module


@pytest.mark.anyio
async def test_acme_never_sees_globex_rows(
    async_client: AsyncRestlyTestClient, async_session: AsyncSession
) -> None:
    globex, acme = Project(name="Globex plans", tenant_id=2), Project(name="Roadmap", tenant_id=1)
    async_session.add_all([globex, acme])
    await async_session.flush()
    secret = Task(title="Take over", project_id=globex.id, tenant_id=2)
    async_session.add_all([secret, Task(title="Ship", project_id=acme.id, tenant_id=1)])
    await async_session.commit()

    report = await async_assert_rows_hidden(
        async_client, [globex, secret], headers={"Authorization": "Bearer token-acme"}
    )
    assert "TaskView PATCH /tasks/{id} with project_id refuses Project 1" in report.checked
    assert report.skipped == []
