"""README.md runs as a user copies it: each Python snippet is saved as a file, imported, served,
and answers as the README's route table says. And what the README tells users to install for
``restly.testing`` is what it imports."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

import restly as fr

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SNIPPETS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)

pytestmark = pytest.mark.anyio


def test_the_readme_has_its_example() -> None:
    assert len(SNIPPETS) == 1 and "class WorldView(fr.AsyncRestView)" in SNIPPETS[0]


async def test_the_readme_example_answers_as_its_route_table_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the example's SQLite file is created here
    (tmp_path / "main.py").write_text(SNIPPETS[0])
    spec = importlib.util.spec_from_file_location("readme_main", tmp_path / "main.py")
    assert spec is not None and spec.loader is not None
    module: Any = importlib.util.module_from_spec(spec)
    state = fr.FRGlobals()
    try:
        with fr.use_fr_globals(state):
            sys.modules["readme_main"] = module
            spec.loader.exec_module(module)
            app = module.app
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                    created = await client.post("/world", json={"message": "Hello"})
                    assert (created.status_code, created.json()) == (201, {"id": 1, "message": "Hello"})
                    assert (await client.get("/world")).json() == [{"id": 1, "message": "Hello"}]
                    assert (await client.get("/world/1")).status_code == 200
                    patched = await client.patch("/world/1", json={"message": "Hi"})
                    assert patched.json() == {"id": 1, "message": "Hi"}
                    assert (await client.delete("/world/1")).status_code == 204
                    assert (await client.get("/world/1")).status_code == 404
    finally:
        sys.modules.pop("readme_main", None)
        await state.dispose()


def test_the_testing_extra_installs_what_restly_testing_imports() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = {re.split(r"[<>=\[ ]", requirement)[0] for requirement in extras["testing"]}
    assert {"pytest", "httpx", "httpx2"} <= names
    assert 'pip install "restly[testing]"' in (ROOT / "docs" / "testing.md").read_text()


def test_a_missing_client_dependency_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import restly.testing as testing

    monkeypatch.delitem(sys.modules, "restly.testing._client", raising=False)
    monkeypatch.delitem(vars(testing), "RestlyTestClient", raising=False)
    monkeypatch.setitem(sys.modules, "httpx", None)  # as if httpx were not installed
    with pytest.raises(ModuleNotFoundError, match=r'needs .httpx.*pip install "restly\[testing\]"'):
        testing.RestlyTestClient  # noqa: B018
