"""The API docs page (Swagger UI) served from this server: its script and styles come from
the installed ``swagger-ui-py`` package, never from a CDN (Boomerang runs offline)."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/api/docs"
ASSETS_PATH = "/api/docs/assets"


def swagger_assets() -> Path:
    """The folder of Swagger UI's built files inside the ``swagger_ui`` package (found
    without importing it)."""
    spec = find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed: reinstall Boomerang")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def install(app: FastAPI) -> None:
    """``GET /api/docs`` and its assets, for the app's OpenAPI schema."""
    app.mount(ASSETS_PATH, StaticFiles(directory=swagger_assets()), name="api-docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_PATH, include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title}: REST API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
        )
