"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc``, with their assets served locally.

FastAPI's default pages load Swagger UI and ReDoc from a CDN, so on a host
without Internet access (a common place for a team's webhook service) ``/docs``
was a blank page.  The ``fastapi-offline`` package ships the Swagger UI 5 and
ReDoc 2 bundles; they are served from the package at ``/docs/assets``, and the
pages name no other host.  Like ``/openapi.json``, the pages need no API key.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_URL", "mount_docs"]

#: Where the Swagger UI and ReDoc bundles are served (outside ``/v1/``, so no key is asked).
ASSETS_URL = "/docs/assets"


def _assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def mount_docs(app: FastAPI, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Add ``docs_url`` (Swagger UI) and ``redoc_url`` (ReDoc) to ``app``, served with local assets.

    Create the app with ``docs_url=None, redoc_url=None`` so FastAPI does not add its CDN pages.
    """
    app.mount(ASSETS_URL, StaticFiles(directory=_assets_dir()), name="docs-assets")
    parameters = {**(app.swagger_ui_parameters or {}), "validatorUrl": None}  # no badge from swagger.io

    @app.get(docs_url, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", ""))
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=parameters,
        )

    @app.get(redoc_url, include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", ""))
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
