"""Swagger UI's files for ``/docs``, served from the ``swagger-ui-bundle-v2`` package.

sanic-ext's docs page loads Swagger UI from a public CDN by default, which users' browsers may
not reach (and which would tell a third party who reads our docs). Its page asks for
``<CDN>/<version>/swagger-ui.min.css`` and friends; the package ships the same files without
``.min`` in their names.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from sanic import Request
from sanic.response import HTTPResponse, file

from ..errors import ApiBlueprint, NotFoundError

ASSETS_PATH = "/docs/assets"
SERVED_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")

bp = ApiBlueprint("docs_assets")


def swagger_dir() -> tuple[str, Path] | None:
    """The bundled Swagger UI version and folder, if the package is installed."""
    try:
        vendor = Path(str(resources.files("swagger_ui_bundle") / "vendor"))
    except ModuleNotFoundError:
        return None
    for folder in sorted(vendor.glob("swagger-ui-*"), reverse=True):
        match = re.fullmatch(r"swagger-ui-(\d+\.\d+\.\d+)", folder.name)
        if match and folder.is_dir():
            return match.group(1), folder
    return None


@bp.get(f"{ASSETS_PATH}/<version>/<name>")
async def swagger_asset(request: Request, version: str, name: str) -> HTTPResponse:
    found = swagger_dir()
    wanted = name.replace(".min.", ".")
    if found is None or version != found[0] or wanted not in SERVED_FILES:
        raise NotFoundError("Not found")
    return await file(found[1] / wanted, headers={"cache-control": "public, max-age=86400"})
