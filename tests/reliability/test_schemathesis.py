"""Contract fuzzing: schemathesis runs every phase with every default check against a
representative app served over real HTTP, and every failure it reports fails the test.

The app (`fuzz_app`): REST views (async and sync) over a resource with every field kind, a
resource with references (`IDRef` relationship and column, a `WriteOnly` field), and
react-admin views, with problem details off and on. Schemathesis's engine runs as its CLI
does (`st run`): the examples, coverage (unsupported methods, missing headers, undeclared
content types...), fuzzing (positive and negative data) and stateful (links inferred from the
document) phases, with its default checks, none disabled:

    not_a_server_error, status_code_conformance, content_type_conformance,
    response_schema_conformance, response_headers_conformance, positive_data_acceptance,
    negative_data_rejection, use_after_free, ensure_resource_availability,
    missing_required_header, ignored_auth, object_level_authorization, unsupported_method,
    allow_header_conformance

Two refusals of "valid" data are let through, each checked against the request that got
it (`rounded_past_a_bound`, `reused_key`): schemathesis comparing big integers as floats, and
an `Idempotency-Key` it sent before with another request (422, as the draft says; JSON Schema
cannot ask for a new key per request). The key's pattern is documented, so every other key
it sends is one restly accepts.

A stateful step that addresses ``/None`` is let through as well (`link_to_nothing`): a link
schemathesis inferred from a nullable reference (``owner_id: null`` in a listed row) to
``/owners/{id}`` had nothing to read, and restly answers 422 for an id that is not one. So is
uvicorn's own 400 to a request head longer than its parser takes (`refused_by_the_http_server`),
which never reaches the app.

The server is uvicorn on a free port of 127.0.0.1, in a thread of the test process (one event
loop for the async engines, disposed by the app's lifespan).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest

schemathesis = pytest.importorskip("schemathesis")
uvicorn = pytest.importorskip("uvicorn")

from fastapi import FastAPI, Response  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402
from schemathesis.engine import events, from_schema  # noqa: E402

import restly as fr  # noqa: E402
from restly.db import FRGlobals, use_fr_globals  # noqa: E402

from tests.live_server import serve_in_thread  # noqa: E402

from .models import Base, Note, NoteSchema, Owner, Thing  # noqa: E402

#: Examples per operation in the fuzzing phase, and the time budgets (seconds) of the two
#: passes (the coverage pass usually ends well before its bound; the fuzzing pass draws new
#: cases until its budget is spent: raise it to search longer).
MAX_EXAMPLES = int(os.environ.get("RESTLY_FUZZ_EXAMPLES", "10"))
COVERAGE_SECONDS = int(os.environ.get("RESTLY_FUZZ_COVERAGE_SECONDS", "180"))
FUZZ_SECONDS = int(os.environ.get("RESTLY_FUZZ_SECONDS", "20"))

#: Every check schemathesis enables by default; each must have run (and passed).
DEFAULT_CHECKS = frozenset(
    {
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
        "positive_data_acceptance",
        "negative_data_rejection",
        "use_after_free",
        "ensure_resource_availability",
        "missing_required_header",
        "ignored_auth",
        "object_level_authorization",
        "unsupported_method",
        "allow_header_conformance",
    }
)


def fuzz_app(fr_globals: FRGlobals, *, problem_details: bool) -> FastAPI:
    """The representative app; its lifespan closes the async engine in the server's loop.

    Each half of the parametrisation serves every kind of resource once, async or sync in
    turn: the resource with every field kind, the one with references, its react-admin view
    (and owners, the references' target, async).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await fr_globals.dispose()

    app = FastAPI(lifespan=lifespan)
    first, second = ("async", "sync") if problem_details else ("sync", "async")
    kinds = {
        "async": (fr.AsyncRestView, fr.AsyncReactAdminView),
        "sync": (fr.RestView, fr.ReactAdminView),
    }
    # The list route of `things` stands for every list (its filters cover every field
    # kind): the lists of owners and notes would only multiply the coverage cases.
    unlisted = {"exclude_routes": ("index",)}
    served = (
        ("owners", Owner, "async", 0, unlisted),
        ("things", Thing, first, 0, {}),
        ("notes", Note, second, 0, {"schema": NoteSchema, **unlisted}),
        ("admin/notes", Note, first, 1, {"schema": NoteSchema}),
    )
    for name, model, kind, dialect, options in served:
        namespace = {"prefix": f"/{kind}/{name}", "model": model, **options}
        title = name.title().replace("/", "")
        fr.include_view(app, type(f"{title}{kind.title()}View", (kinds[kind][dialect],), namespace))
    if problem_details:
        fr.configure(app, problem_details=True)
    return app


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free local port; yield its base URL."""
    with serve_in_thread(app) as (host, port):
        yield f"http://{host}:{port}"


#: (backend, problem details): both answer formats on SQLite, one each on the servers.
COMBINATIONS = [
    pytest.param("sqlite", False, id="sqlite-detail"),
    pytest.param("sqlite", True, id="sqlite-problem"),
    pytest.param("postgresql", True, id="postgresql-problem", marks=pytest.mark.postgres),
    pytest.param("mariadb", False, id="mariadb-detail", marks=pytest.mark.mariadb),
]


@contextmanager
def fuzz_globals(backend: str, tmp_path: Any) -> Iterator[FRGlobals]:
    from tests.conftest import mysql_urls, postgres_urls, sqlite_urls

    if backend == "sqlite":
        urls = sqlite_urls(tmp_path)
    else:
        urls = postgres_urls() if backend == "postgresql" else mysql_urls()
    g = FRGlobals()
    with use_fr_globals(g):
        fr.configure(database_url=urls.sync_url, async_database_url=urls.async_url)
        engine = g.get_engine()
        Base.metadata.drop_all(engine)
        fr.idempotency_metadata.drop_all(engine)
        fr.db.create_all(Base)  # restly's table of idempotency keys too: the fuzzer sends keys
        try:
            yield g
        finally:
            Base.metadata.drop_all(engine)
            fr.idempotency_metadata.drop_all(engine)
            g.reset_database()
            engine.dispose()


@pytest.mark.parametrize(("backend", "problem_details"), COMBINATIONS)
def test_the_api_honours_its_openapi_contract(
    backend: str, problem_details: bool, tmp_path: Any
) -> None:
    with fuzz_globals(backend, tmp_path) as g:
        app = fuzz_app(g, problem_details=problem_details)
        with serving(app) as base_url:
            report = fuzz(app.openapi(), base_url)
    print(report.summary())
    assert not report.errors, "\n\n".join(report.errors[:10])
    assert not report.failures, "\n\n".join(report.failures[:10])
    assert report.checks_run >= DEFAULT_CHECKS, f"never ran: {DEFAULT_CHECKS - report.checks_run}"
    assert {"coverage", "fuzzing", "stateful"} <= report.phases_run, report.summary()


class Count(BaseModel):
    count: int


class BrokenView(fr.View):
    """Answers what it does not document: the harness must say so."""

    prefix = "/broken"

    @fr.get("/count", response_model=Count)
    async def count(self) -> Response:
        return JSONResponse({"count": "many"})  # not the documented schema

    @fr.get("/teapot")
    async def teapot(self) -> Response:
        return Response(status_code=418)  # undocumented status


def test_the_harness_reports_what_schemathesis_finds(tmp_path: Any) -> None:
    with fuzz_globals("sqlite", tmp_path) as g:
        app = fuzz_app(g, problem_details=False)
        fr.include_view(app, BrokenView)
        document = app.openapi()
        document["paths"] = {
            path: item for path, item in document["paths"].items() if path.startswith("/broken")
        }
        with serving(app) as base_url:
            report = fuzz(document, base_url, fuzz_seconds=3)
    found = {failure.split(":")[0] for failure in report.failures}
    assert "[GET /broken/count] response_schema_conformance" in found, report.failures
    assert "[GET /broken/teapot] status_code_conformance" in found, report.failures


class Report:
    """What one schemathesis run found."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.errors: list[str] = []
        self.checks: Counter[str] = Counter()
        self.phases_run: set[str] = set()
        self.seconds: dict[str, float] = {}
        self.stop_reason = ""  # of the last pass
        #: The requests sent with each Idempotency-Key so far (see `reused_key`).
        self.keyed_requests: dict[str, set[tuple[str, str, str]]] = {}
        self.reused_keys = 0  # 422s let through by `reused_key`
        self.links_to_nothing = 0  # steps let through by `link_to_nothing`

    @property
    def checks_run(self) -> set[str]:
        return set(self.checks)

    def summary(self) -> str:
        counts = ", ".join(f"{name} {count}" for name, count in sorted(self.checks.items()))
        seconds = ", ".join(f"{name} {value:.0f}s" for name, value in self.seconds.items())
        return (
            f"schemathesis ({self.stop_reason}; {seconds}): {counts}; "
            f"reused Idempotency-Keys answered 422: {self.reused_keys}; "
            f"links that read a null id: {self.links_to_nothing}"
        )

    def scenario(self, event: Any) -> None:
        self.phases_run.add(str(event.phase.value).split("_")[0].lower())
        interactions = event.recorder.interactions
        for case_id, checks in event.recorder.checks.items():
            for check in checks:
                self.checks[check.name] += 1
                info = check.failure_info
                if info is None:
                    continue
                failure = info.failure
                text = f"[{event.recorder.label}] {check.name}: {failure.title}\n{failure.message}"
                interaction = event.recorder.interactions.get(case_id)
                response = interaction.response if interaction is not None else None
                if interaction is not None and (
                    rounded_past_a_bound(check.name, interaction)
                    or self.reused_key(check.name, interaction, interactions.values())
                    or self.link_to_nothing(check.name, interaction)
                    or refused_by_the_http_server(interaction)
                ):
                    continue
                if response is not None:
                    answer = response.content[:400].decode(errors="replace")
                    text += f"\nanswered {response.status_code}: {answer}"
                self.failures.append(f"{text}\n{info.code_sample}"[:2000])
        for interaction in interactions.values():
            keyed = keyed_request(interaction)
            if keyed is not None:
                self.keyed_requests.setdefault(keyed[0], set()).add(keyed[1])

    def link_to_nothing(self, check: str, interaction: Any) -> bool:
        """Whether a stateful step addressed ``/None`` because the link it followed read a
        ``null``: schemathesis links the ``owner_id`` of a listed row to ``/owners/{id}``,
        and a row without an owner has ``"owner_id": null``, so it sends
        ``PATCH /owners/None`` as "valid" data and restly rightly answers 422 (not an
        integer). Only that case is let through: a ``None`` path segment, answered 422 for
        a path parameter that does not parse."""
        response = interaction.response
        if check != "positive_data_acceptance" or response is None or response.status_code != 422:
            return False
        if "None" not in urlsplit(interaction.request.uri).path.split("/"):
            return False
        answer = response.content.decode(errors="replace")
        if "_parsing" not in answer or ("path" not in answer and '"parameter":"id"' not in answer):
            return False
        self.links_to_nothing += 1
        return True

    def reused_key(self, check: str, interaction: Any, scenario: Any) -> bool:
        """Whether a rejected "valid" request was refused only because its
        ``Idempotency-Key`` had been sent before with another request: JSON Schema cannot
        say "a new key for each new request", and restly rightly answers 422 then. Only that
        case is let through: the answer is the reuse error, and this run did send the key
        with another method, URL or body."""
        response = interaction.response
        if check != "positive_data_acceptance" or response is None or response.status_code != 422:
            return False
        answer = response.content.decode(errors="replace")
        if "idempotency_key_reused" not in answer:  # the error's code, in both formats
            return False
        keyed = keyed_request(interaction)
        if keyed is None:
            return False
        key, request = keyed
        others = set(self.keyed_requests.get(key, ()))
        for other in scenario:
            sent = keyed_request(other) if other is not interaction else None
            if sent is not None and sent[0] == key:
                others.add(sent[1])
        if not others - {request}:
            return False
        self.reused_keys += 1
        return True


#: The react-admin list routes take JSON in ``sort``, ``range`` and ``filter``; their
#: documents give each one's JSON schema, but JSON Schema cannot say ``start <= end`` or
#: "at most max_page_size rows", nor tie a filter value's type to its key. A range
#: ``[5, 2]`` is valid by the schema and restly answers it 400, as it should (what would
#: rows 5 to 2 be?), so `positive_data_acceptance` does not apply to these two operations.
#: Every other check runs on them, invalid data included.
REACT_ADMIN_LISTS = {
    "include-path-regex": "^/(async|sync)/admin/notes$",
    "include-method": "GET",
    "checks": {"positive_data_acceptance": {"enabled": False}},
}


#: The largest integer a float holds exactly: beyond it, 9223372036854775807 and
#: 9223372036854776000 are the same float.
_EXACT_FLOAT = 2**53


#: What uvicorn itself answers a request whose head exceeds its HTTP parser's limit (h11:
#: 16 KiB by default), before any application code runs.
_SERVER_REFUSAL = b"Invalid HTTP request received."


def refused_by_the_http_server(interaction: Any) -> bool:
    """Whether the answer came from uvicorn, not from the app: schemathesis sometimes sends
    a query string of many kilobytes (a filter repeated hundreds of times), uvicorn's parser
    refuses the request head (400, plain text) and the app never sees it. Only that case is
    let through: that exact answer to a request line longer than 8 KiB."""
    response = interaction.response
    return (
        response is not None
        and response.status_code == 400
        and response.content == _SERVER_REFUSAL
        and len(interaction.request.uri) > 8192
    )


def rounded_past_a_bound(check: str, interaction: Any) -> bool:
    """Whether a rejected "valid" request only looked valid to schemathesis because it
    compares integers as floats: a ``BigInteger`` column documents ``maximum:
    9223372036854775807`` exactly, schemathesis draws 9223372036854776000 (2**63 as a float)
    as a valid value, and restly refuses it (422), rightly. Only that case is let through:
    the body holds an integer a float cannot represent, and the 422 names a bound."""
    response = interaction.response
    if check != "positive_data_acceptance" or response is None or response.status_code != 422:
        return False
    answer = response.content.decode(errors="replace")
    if "less_than_equal" not in answer and "greater_than_equal" not in answer:
        return False
    try:
        body = json.loads(interaction.request.body or b"null")
    except ValueError:
        return False
    return any(
        isinstance(value, int) and abs(value) > _EXACT_FLOAT
        for value in (body.values() if isinstance(body, dict) else ())
    )


def keyed_request(interaction: Any) -> tuple[str, tuple[str, str, str]] | None:
    """The ``Idempotency-Key`` an interaction sent (as restly reads it) and what makes its
    request the same as another (method, path, canonical JSON body), or ``None``."""
    request = interaction.request
    values = {name.lower(): value for name, value in request.headers.items()}.get("idempotency-key")
    if isinstance(values, list):
        values = values[0] if len(values) == 1 else None
    if not isinstance(values, str):
        return None
    try:
        key = fr.idempotency.parse_key(values.encode("latin-1"))
    except (fr.exc.BadRequest, UnicodeEncodeError):
        return None
    try:
        body = json.dumps(json.loads(request.body or b"null"), sort_keys=True)
    except ValueError:
        body = repr(request.body)
    return key, (request.method, urlsplit(request.uri).path, body)


#: The two passes of a run and their time budgets: the schema's examples and coverage
#: cases, then generated data and stateful sequences until the budget is spent.
PASSES = (
    (("examples", "coverage"), COVERAGE_SECONDS),
    (("fuzzing", "stateful"), FUZZ_SECONDS),
)
_PHASES = ("examples", "coverage", "fuzzing", "stateful")


def fuzz(document: dict[str, Any], base_url: str, fuzz_seconds: int = FUZZ_SECONDS) -> Report:
    """Run schemathesis's engine on ``document`` against ``base_url``, in two passes (so each
    phase gets its share of the time whatever the machine's speed)."""
    report = Report()
    (first, coverage_seconds), (second, _) = PASSES
    for phases, seconds in ((first, coverage_seconds), (second, fuzz_seconds)):
        config = SchemathesisConfig.from_dict(
            {
                "base-url": base_url,
                "workers": 1,
                "max-time": seconds,
                # restly refuses NUL characters in every string of every route (PostgreSQL
                # cannot store them; tests/reliability/test_input.py): valid data has none.
                "generation": {
                    "max-examples": MAX_EXAMPLES,
                    "deterministic": True,
                    "allow-x00": False,
                },
                "phases": {
                    "stateful": {"max-steps": 20},
                    **{name: {"enabled": name in phases} for name in _PHASES},
                },
                "operations": [REACT_ADMIN_LISTS],
            }
        )
        run(schemathesis.openapi.from_dict(document, config=config), report)
    return report


def run(schema: Any, report: Report) -> None:
    started: dict[str, float] = {}
    for event in from_schema(schema).execute():
        if isinstance(event, events.PhaseStarted):
            started[event.phase.name.value] = event.timestamp
        elif isinstance(event, events.PhaseFinished) and event.phase.name.value in started:
            name = event.phase.name.value
            spent = event.timestamp - started[name]
            report.seconds[name] = report.seconds.get(name, 0.0) + spent
        elif isinstance(event, events.ScenarioFinished):
            report.scenario(event)
        elif isinstance(event, events.NonFatalError):
            report.errors.append(f"[{event.label}] {event.info.title}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            report.errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            report.stop_reason = str(event.stop_reason)
