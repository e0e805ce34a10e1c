"""The app factory, and the ``app`` that ``sanic service.app`` finds.

Importing this module has no side effects: ``app`` is built on first access (PEP 562), from
the environment and ``.env``, so that ``sanic service.app`` works while tests and the
command line call :func:`create_app` with their own settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import secrets
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from sanic import Blueprint, Request, Sanic
from sanic.http.constants import HTTP
from sanic.response import HTTPResponse
from sanic_ext.config import PRIORITY as EXTENSION_PRIORITY

from . import __version__
from .admin.routes import bp as admin_bp
from .admin.routes import usage_bp
from .agent.provider import load_sdk, make_model_client
from .agent.tools import SandboxUnavailable, detect_sandbox
from .auth.routes import bp as auth_bp
from .auth.service import AuthService
from .config import ConfigError, Settings, load_settings, mask_key, prepare_data_dir
from .errors import register_error_handler
from .info.api_docs import document_routes
from .info.docs_assets import ASSETS_PATH, swagger_dir
from .info.docs_assets import bp as docs_assets_bp
from .info.routes import bp as info_bp
from .logs import setup_logging
from .net import parse_networks
from .sessions import SessionHub
from .storage import Store, open_store
from .storage.database import CHECKPOINT_SECONDS, checkpoint_wal
from .web import bp as web_bp
from .ws.registry import SocketRegistry
from .ws.routes import bp as ws_bp

log = logging.getLogger("portagent")
access_log = logging.getLogger("portagent.access")

MAX_BODY_BYTES = 1024 * 1024
_app_counter = itertools.count(1)


class PortagentApp(Sanic):
    """Sanic, with our host and port as defaults for ``sanic service.app`` (Sanic's own are
    127.0.0.1:8000); ``--host``/``--port`` given to ``sanic`` still win."""

    def get_address(  # type: ignore[override]
        self,
        host: str | None,
        port: int | None,
        version: HTTP = HTTP.VERSION_1,
        auto_tls: bool = False,
    ) -> tuple[str, int]:
        settings: Settings = self.ctx.settings
        return Sanic.get_address(host or settings.host, port or settings.port, version, auto_tls)

    @contextlib.contextmanager
    def amend(self) -> Iterator[None]:
        """Sanic's ``amend``, except while sanic-ext adds its routes at start.

        sanic-ext adds a HEAD and an OPTIONS route to every route in a start-up listener
        (``HTTP_AUTO_HEAD``/``HTTP_AUTO_OPTIONS``), once the app counts as started; Sanic then
        rebuilds and recompiles its signal router after each route added, about half a second
        of start-up here, though adding routes changes no signal. sanic-ext resets and
        finalizes the route router itself around its additions, so while it runs the amend
        has nothing to do (see :func:`_batch_extension_routes`).
        """
        if getattr(self.ctx, "adding_extension_routes", False):
            yield
            return
        with super().amend():
            yield


def _configure(app: Sanic, settings: Settings) -> None:
    app.config.MOTD = False
    app.config.ACCESS_LOG = False
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    app.config.WEBSOCKET_MAX_SIZE = MAX_BODY_BYTES
    app.config.WEBSOCKET_PING_INTERVAL = 20
    app.config.WEBSOCKET_PING_TIMEOUT = 20
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = 5.0
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.OAS_UI_DEFAULT = "swagger"
    bundled = swagger_dir()
    if bundled is not None:
        app.config.OAS_UI_SWAGGER_VERSION = bundled[0]
        app.config.OAS_UI_SWAGGER_CDN_URL = settings.base_path + ASSETS_PATH
    app.config.OAS_UI_REDOC = False
    app.config.OAS_URL_PREFIX = settings.base_path + "/docs"
    app.config.API_TITLE = "Portagent"
    app.config.API_VERSION = __version__
    app.config.API_DESCRIPTION = "Portagent's HTTP API. The chat itself runs over /ws."
    if settings.cors_origins:
        app.config.CORS_ORIGINS = ",".join(settings.cors_origins)
        app.config.CORS_SUPPORTS_CREDENTIALS = False
        app.config.CORS_ALLOW_HEADERS = "authorization,content-type"
    else:
        app.config.CORS = False


def _setup_middleware(app: Sanic, settings: Settings) -> None:
    docs_path = settings.base_path + "/docs"

    @app.on_request(priority=100)
    async def start_request(request: Request) -> None:
        request.ctx.request_id = uuid.uuid4().hex[:16]
        request.ctx.started = time.perf_counter()
        stop_signals = request.app.ctx.stop_signals
        if stop_signals is not None and not stop_signals.serving.is_set():
            await stop_signals.serving.wait()  # see StopSignals
        if request.path.startswith(docs_path):
            document_routes()  # the OpenAPI description is built when first asked for

    @app.on_response(priority=100)
    async def log_request(request: Request, response: HTTPResponse) -> None:
        started = getattr(request.ctx, "started", None)
        duration = (time.perf_counter() - started) * 1000 if started else 0.0
        # The path only: query strings may carry a token (/agentx/info?token=...).
        access_log.info(
            "%s %s %s %.1fms rid=%s",
            request.method,
            request.path,
            response.status,
            duration,
            getattr(request.ctx, "request_id", "-"),
        )
        response.headers.setdefault("x-request-id", getattr(request.ctx, "request_id", "-"))
        response.headers.setdefault("x-content-type-options", "nosniff")


def banner(settings: Settings, sandbox: str) -> str:
    key = settings.llm_provider_key.get_secret_value() if settings.llm_provider_key else ""
    shown_key = "demo mode (no key)" if settings.demo else mask_key(key)
    model = "stand-in demo model" if settings.demo else settings.llm_provider_model
    lines = [
        f"Portagent {__version__}",
        f"  Listening:    http://{settings.host}:{settings.port}{settings.base_path}/",
        f"  Data dir:     {settings.data_dir}",
        f"  Databases:    {settings.auth_db_path}",
        f"                {settings.agent_db_path}",
        f"  Log file:     {settings.log_file}",
        f"  Invite codes: {'required' if settings.invite_code_required else 'not required'}",
        f"  Model:        {model}" + ("" if settings.demo else f" at {settings.llm_provider_url}"),
        f"  API key:      {shown_key}",
        f"  Tools:        {', '.join(settings.agent_tools) or 'none'} (sandbox: {sandbox})",
        "  Endpoints:    "
        + "  ".join(
            settings.base_path + path
            for path in ("/health", "/readyz", "/api/auth/*", "/agentx/info", "/ws", "/docs")
        ),
    ]
    return "\n".join(lines)


def _choose_sandbox(settings: Settings) -> str:
    """Settle the tool sandbox at start: ``bwrap`` mode refuses to start without it."""
    if not settings.agent_tools:
        return "none"
    try:
        sandbox = detect_sandbox(settings.agent_sandbox)
    except SandboxUnavailable as error:
        raise ConfigError(
            f"Error: AGENT_SANDBOX=bwrap but the sandbox cannot run: {error}"
        ) from None
    if sandbox == "none" and settings.agent_sandbox == "auto":
        log.warning(
            "bubblewrap is not available: tools run as plain processes of the server's user, "
            "which can read the server's files (see docs/security.md). Install bubblewrap, or "
            "set AGENT_SANDBOX=none to silence this warning."
        )
    return sandbox


async def _start_model(app: Sanic, settings: Settings) -> tuple[str, str]:
    """Start the demo's stand-in model if asked; the key and base URL the client will use."""
    if settings.demo:
        from .standin import StandInModel, demo_responder

        api_key = secrets.token_urlsafe(24)
        app.ctx.standin = StandInModel(demo_responder, api_key=api_key)
        base_url = await app.ctx.standin.start()
        log.warning("DEMO MODE: replies come from a scripted stand-in model, not from Claude")
    else:
        assert settings.llm_provider_key is not None
        api_key = settings.llm_provider_key.get_secret_value()
        base_url = settings.llm_provider_url
    return api_key, base_url


async def _load_model_client(app: Sanic, settings: Settings, api_key: str, base_url: str) -> None:
    """Import the SDK in a thread after the server listens (it is about half of start-up time),
    then hand the client to the hub; runs started meanwhile wait for it."""
    try:
        await asyncio.to_thread(load_sdk)
        app.ctx.model_client = make_model_client(
            api_key=api_key,
            base_url=base_url,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
        )
    except Exception:
        log.exception("the model client could not be created; the agent cannot answer")
        raise
    app.ctx.hub.attach_model_client(app.ctx.model_client)
    # What is loaded by now (Sanic, the SDK, pydantic's types: ~190,000 objects) lives as long
    # as the process. Frozen, it is left out of the cyclic collector's full passes, which took
    # ~100 ms each with it and stalled every stream when one ran.
    gc.freeze()


async def _housekeeping(app: Sanic) -> None:
    """Once a minute: end sockets whose token expired, forget idle sessions, prune tokens."""
    while True:
        await asyncio.sleep(60)
        try:
            app.ctx.sockets.close_expired()
            app.ctx.hub.evict_idle()
            app.ctx.auth.prune()
        except Exception:
            log.exception("housekeeping failed")


async def _checkpoint_wal(store: Store) -> None:
    """Checkpoint the databases' write-ahead logs in a worker thread, every few seconds."""
    while True:
        await asyncio.sleep(CHECKPOINT_SECONDS)
        try:
            await asyncio.to_thread(checkpoint_wal, store)
        except Exception:
            log.exception("checkpointing the databases failed")


def _setup_listeners(app: Sanic, settings: Settings, sandbox: str) -> None:
    @app.before_server_start
    async def open_resources(app: Sanic) -> None:
        print(banner(settings, sandbox), file=sys.stderr, flush=True)
        store = open_store(settings.auth_db_path, settings.agent_db_path)
        app.ctx.store = store
        app.ctx.auth = AuthService(settings, store)
        app.ctx.auth.prune()
        app.ctx.sockets = SocketRegistry()
        app.ctx.auth.on_token_revoked = app.ctx.sockets.close_token
        api_key, base_url = await _start_model(app, settings)
        app.ctx.hub = SessionHub(settings, store, None, sandbox=sandbox)
        app.ctx.model_loader = asyncio.get_running_loop().create_task(
            _load_model_client(app, settings, api_key, base_url)
        )
        app.ctx.hub.recover_interrupted_runs()
        app.ctx.housekeeping = asyncio.get_running_loop().create_task(_housekeeping(app))
        app.ctx.checkpointer = asyncio.get_running_loop().create_task(_checkpoint_wal(store))
        log.info(
            "Portagent %s serving on port %s (data dir %s)",
            __version__,
            settings.port,
            settings.data_dir,
        )

    @app.after_server_stop
    async def close_resources(app: Sanic) -> None:
        client = getattr(app.ctx, "model_client", None)
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()
        standin = getattr(app.ctx, "standin", None)
        if standin is not None:
            await standin.stop()
        store = getattr(app.ctx, "store", None)
        if store is not None:
            store.close()


def _batch_extension_routes(app: Sanic) -> None:
    """Bracket sanic-ext's start-up listeners (they run at its priority; higher runs first)
    so that the routes they add are compiled once, not once each (:meth:`PortagentApp.amend`).
    """

    @app.before_server_start(priority=EXTENSION_PRIORITY + 1)
    async def start_adding_routes(app: Sanic) -> None:
        app.ctx.adding_extension_routes = True

    @app.before_server_start(priority=EXTENSION_PRIORITY - 2)
    async def stop_adding_routes(app: Sanic) -> None:
        app.ctx.adding_extension_routes = False
        if not app.router.finalized:
            app.finalize()


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SERVING_WAIT_LIMIT = 5.0


class StopSignals:
    """SIGTERM or SIGINT stops the server cleanly, whenever it comes once the server answers.

    Sanic starts in steps, one ``run_until_complete`` each, and can answer requests in
    between; it installs its signal handlers through uvloop between two steps, and uvloop
    drops a signal that comes while its loop is not running. A SIGTERM sent right after the
    first answer either killed the process (exit -15) or was lost, and the server ran on.
    So: a plain Python handler, which runs whether the loop runs or not, replaces Sanic's
    and hands the stop to the loop, which makes it once the server serves (``serving``);
    requests wait for ``serving`` too, so no client can see an answer before. A second
    signal acts as it did before (SIGINT raises KeyboardInterrupt, SIGTERM ends the process).
    """

    def __init__(self, app: Sanic, loop: asyncio.AbstractEventLoop) -> None:
        self.app = app
        self.loop = loop
        self.serving = asyncio.Event()

    def install(self) -> None:
        for number in STOP_SIGNALS:
            signal.signal(number, self._on_signal)

    def watch_serving(self, deadline: float | None = None) -> None:
        """Set ``serving`` once Sanic has finished starting (it is then in ``run_forever``),
        or after a few seconds in any case: a server started another way (``create_server``)
        never says it serves, and must not hold its requests for ever."""
        deadline = deadline or self.loop.time() + SERVING_WAIT_LIMIT
        if self.app.state.is_running or self.loop.time() > deadline:
            self.serving.set()
        else:
            self.loop.call_later(0.002, self.watch_serving, deadline)

    def _on_signal(self, number: int, frame: object) -> None:
        self.loop.call_soon_threadsafe(self._stop_when_serving)

    def _stop_when_serving(self) -> None:
        if not self.serving.is_set():
            self.loop.call_later(0.05, self._stop_when_serving)
            return
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        self.app.stop(terminate=False)


def _stop_cleanly_on_signals(app: Sanic) -> None:
    app.ctx.stop_signals = None
    if Sanic.test_mode:
        return  # in-process test clients: the test runner owns the process's signals

    @app.before_server_start(priority=1000)
    async def handle_stop_signals(app: Sanic) -> None:
        # Under an ASGI server, the signals are that server's.
        if threading.current_thread() is threading.main_thread() and not app.state.asgi:
            app.ctx.stop_signals = StopSignals(app, asyncio.get_running_loop())
            app.ctx.stop_signals.install()
            app.ctx.stop_signals.watch_serving()

    @app.listener("after_server_start", priority=1000)
    async def replace_sanic_signal_handlers(app: Sanic) -> None:
        stop_signals: StopSignals | None = app.ctx.stop_signals
        if stop_signals is None:
            return
        for number in STOP_SIGNALS:
            stop_signals.loop.remove_signal_handler(number)
        stop_signals.install()


def _mount(app: Sanic, blueprint: Blueprint, base_path: str) -> None:
    """Register a blueprint, under ``BASE_PATH`` when one is set (behind a reverse proxy
    that serves Portagent at a sub-path). The prefix is a registration option, so the
    blueprint object itself is left as it is for other apps in the same process."""
    if base_path:
        app.blueprint(blueprint, url_prefix=base_path + (blueprint.url_prefix or ""))
    else:
        app.blueprint(blueprint)


def _stop_runs_first(app: Sanic) -> None:
    """Registered after the blueprints: Sanic runs stop listeners in reverse order, so this
    one runs before its own listener that cancels websocket handlers, and every socket still
    receives the closing event of an interrupted run."""

    @app.before_server_stop
    async def stop_runs(app: Sanic) -> None:
        for task_name in ("housekeeping", "model_loader", "checkpointer"):
            task = getattr(app.ctx, task_name, None)
            if task is not None:
                task.cancel()
        hub = getattr(app.ctx, "hub", None)
        if hub is not None:
            await hub.shutdown()
        sockets = getattr(app.ctx, "sockets", None)
        if sockets is not None:
            await sockets.drain(within=1.0)


def create_app(settings: Settings, *, name: str | None = None) -> Sanic:
    """Build a Portagent app: prepare the data directory, wire blueprints and listeners."""
    settings = prepare_data_dir(settings)
    setup_logging(settings)
    app = PortagentApp(name or "portagent", configure_logging=False)
    app.ctx.settings = settings
    app.ctx.trusted_proxies = parse_networks(settings.trusted_proxies)
    _configure(app, settings)
    register_error_handler(app)
    _setup_middleware(app, settings)
    _setup_listeners(app, settings, _choose_sandbox(settings))
    _batch_extension_routes(app)
    _stop_cleanly_on_signals(app)
    # The web UI last: its catch-all route answers client routes, never the API.
    for blueprint in (info_bp, docs_assets_bp, auth_bp, admin_bp, usage_bp, ws_bp, web_bp):
        _mount(app, blueprint, settings.base_path)
    _stop_runs_first(app)
    app.ext.openapi.add_security_scheme("bearer", "http", scheme="bearer", bearer_format="JWT")
    return app


def next_test_app_name() -> str:
    return f"portagent_{next(_app_counter)}"


_environment_app: Sanic | None = None


def app_from_environment() -> Sanic:
    """The app for ``sanic service.app``: settings from ``.env`` and the environment."""
    global _environment_app
    if _environment_app is None:
        try:
            _environment_app = create_app(load_settings())
        except ConfigError as error:
            print(str(error), file=sys.stderr)
            raise SystemExit(1) from None
    return _environment_app


def __getattr__(name: str) -> Any:
    if name == "app":
        return app_from_environment()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
