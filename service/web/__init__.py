"""The browser UI: the files Vite builds from ``web/`` into ``service/web/dist``, served at ``/``.

``dist`` is a build output (``cd web && npm ci && npm run build``, or ``make build-web``) that the
wheel ships as package data, so an installed ``portagent`` serves the UI without Node. When it
is missing the server still starts, and ``/`` answers a page that says how to build it.
"""

from __future__ import annotations

from .routes import DEFAULT_DIST_DIR, bp

__all__ = ["DEFAULT_DIST_DIR", "bp"]
