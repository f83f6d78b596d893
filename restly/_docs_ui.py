"""Swagger UI and ReDoc served by the app itself, for machines without internet access.

FastAPI's ``/docs`` and ``/redoc`` pages load their JavaScript and CSS from a CDN, so on a
closed network (a lab, a plane, an air-gapped cluster) they render blank. The
``fastapi-offline`` package ships those assets; ``serve_docs_offline`` mounts them on the app
and points both pages at them::

    app = FastAPI()
    fr.serve_docs_offline(app)      # pip install "restly[offline-docs]"

The pages keep FastAPI's own HTML, title, ``swagger_ui_parameters``, OAuth2 settings and
``root_path`` handling; only the asset URLs change (and ReDoc drops its Google Fonts).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute, Route

from .exc import RestlyConfigurationError

__all__ = ["serve_docs_offline"]

_ASSETS_PACKAGE = "fastapi_offline"


def serve_docs_offline(app: FastAPI, *, assets_url: str = "/docs-assets") -> None:
    """Serve Swagger UI (``app.docs_url``) and ReDoc (``app.redoc_url``) with their assets
    from the app, at ``assets_url``, instead of a CDN.

    Needs the ``offline-docs`` extra (``pip install "restly[offline-docs]"``, which installs
    ``fastapi-offline`` for its assets). Call it once, after creating the app; pages the app
    turned off (``docs_url=None``) stay off.
    """
    if not assets_url.startswith("/") or assets_url.endswith("/") or len(assets_url) < 2:
        raise RestlyConfigurationError(
            f"serve_docs_offline(assets_url={assets_url!r}): give a path such as "
            "'/docs-assets' (a leading '/', no trailing '/')."
        )
    directory = _assets_directory()
    if app.openapi_url is None:
        return  # no document, no pages
    _remove_routes(app, {url for url in (app.docs_url, app.redoc_url) if url})
    app.mount(assets_url, StaticFiles(directory=directory), name="restly-docs-assets")
    openapi_url = app.openapi_url
    if app.docs_url:

        async def swagger_ui(request: Request) -> HTMLResponse:
            root = request.scope.get("root_path", "").rstrip("/")
            redirect = app.swagger_ui_oauth2_redirect_url
            return get_swagger_ui_html(
                openapi_url=root + openapi_url,
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{root}{assets_url}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{assets_url}/swagger-ui.css",
                swagger_favicon_url=f"{root}{assets_url}/favicon.png",
                oauth2_redirect_url=root + redirect if redirect else None,
                init_oauth=app.swagger_ui_init_oauth,
                swagger_ui_parameters=app.swagger_ui_parameters,
            )

        app.add_route(app.docs_url, swagger_ui, include_in_schema=False)
    if app.redoc_url:

        async def redoc(request: Request) -> HTMLResponse:
            root = request.scope.get("root_path", "").rstrip("/")
            return get_redoc_html(
                openapi_url=root + openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{root}{assets_url}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{assets_url}/favicon.png",
                with_google_fonts=False,
            )

        app.add_route(app.redoc_url, redoc, include_in_schema=False)


def _assets_directory() -> Path:
    try:
        package = resources.files(_ASSETS_PACKAGE)
    except ModuleNotFoundError:
        raise RestlyConfigurationError(
            "serve_docs_offline(app) needs the Swagger UI and ReDoc assets of the "
            "'fastapi-offline' package: pip install \"restly[offline-docs]\"."
        ) from None
    return Path(str(package / "static"))


def _remove_routes(app: FastAPI, paths: set[str]) -> None:
    """Drop FastAPI's own page routes at ``paths`` (the CDN versions)."""
    kept: list[BaseRoute] = [
        route
        for route in app.router.routes
        if not (isinstance(route, Route) and route.path in paths)
    ]
    app.router.routes[:] = kept
