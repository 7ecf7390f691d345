"""The hub application: ``create_app(settings)``."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from quart import Quart, Response, redirect, send_from_directory
from quart_schema import QuartSchema, RequestSchemaValidationError, document_response, hide
from quart_schema.openapi import Info
from tortoise.exceptions import DBConnectionError, OperationalError
from werkzeug.exceptions import HTTPException

from hostpulse.hub.alerts.service import AlertService
from hostpulse.hub.anomaly import AnomalyEngine
from hostpulse.hub.anomaly.scoring import group_scorer
from hostpulse.hub.anomaly.state_store import DetectorStateStore
from hostpulse.hub.api import alerts as alerts_api
from hostpulse.hub.api import ingest, install, read, stream
from hostpulse.hub.api.metrics import render_metrics
from hostpulse.hub.api.openapi import HubOpenAPIProvider
from hostpulse.hub.api.schemas import Health, errors
from hostpulse.hub.api.wire import unsupported_version
from hostpulse.hub.auth import viewers
from hostpulse.hub.auth.rate_limit import TokenBucket
from hostpulse.hub.auth.sqlite_token_cache import token_cache_for
from hostpulse.hub.errors import HubError
from hostpulse.hub.live.bus import LocalBus, SessionLimits
from hostpulse.hub.settings import Settings
from hostpulse.hub.state import HubState, hub_state
from hostpulse.hub.storage.compactor import Compactor
from hostpulse.hub.storage.database import close_database, connection, open_database
from hostpulse.hub.storage.registry import SeriesRegistry
from hostpulse.hub.storage.writer import Writer, WriteRefused
from hostpulse.hub.web.cycles import let_closed_connections_go
from hostpulse.hub.web.gzip_body import GzipRequestMiddleware
from hostpulse.hub.web.security import install_security_headers
from hostpulse.wire import error_body

log = logging.getLogger(__name__)

#: Errors that mean "the database cannot be reached or written right now", not "this is a bug".
StorageDown: tuple[type[Exception], ...] = (DBConnectionError, OperationalError, ConnectionError)
with contextlib.suppress(ImportError):
    import asyncpg

    StorageDown += (
        asyncpg.InterfaceError,
        asyncpg.PostgresConnectionError,
        asyncpg.exceptions.OperatorInterventionError,  # shutdown, restart, terminated sessions
        asyncpg.exceptions.ObjectInUseError,
        asyncpg.exceptions.ObjectNotInPrerequisiteStateError,  # database not accepting connections
        asyncpg.exceptions.InvalidCatalogNameError,  # database gone
        asyncpg.exceptions.InsufficientResourcesError,  # disk full, too many connections
    )


def create_app(settings: Settings | None = None) -> Quart:
    settings = settings or Settings()
    let_closed_connections_go()  # Hypercorn's, for whatever serves this app (hub/web/cycles.py)
    app = Quart(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["BODY_TIMEOUT"] = settings.body_timeout_s  # Quart answers a slower body 408
    # /docs must work air-gapped: Swagger UI comes from the frontend bundle, not a CDN.
    app.config["QUART_SCHEMA_SWAGGER_JS_URL"] = "/swagger-ui/swagger-ui-bundle.js"
    app.config["QUART_SCHEMA_SWAGGER_CSS_URL"] = "/swagger-ui/swagger-ui.css"
    QuartSchema(
        app,
        info=Info(title="HostPulse hub", version="1"),
        openapi_path="/openapi.json",
        swagger_ui_path="/docs",
        redoc_ui_path=None,
        scalar_ui_path=None,
        openapi_provider_class=HubOpenAPIProvider,
    )
    engine = AnomalyEngine(settings.anomaly)
    app.extensions["hostpulse"] = HubState(
        settings=settings,
        writer=Writer(settings.write_queue_batches, score=group_scorer(engine)),
        bus=_live_bus(settings),
        anomaly=engine,
        registry=SeriesRegistry(settings.max_series_per_host),
        tokens=token_cache_for(settings.db),
        detector_state=DetectorStateStore(engine, settings.detector_save_s),
        rate_limit=TokenBucket(settings.rate_limit_per_s, settings.rate_limit_burst),
        compactor=Compactor(settings),
    )
    # Alert rules, fed by ingest after each commit (hostpulse.hub.alerts.service).
    app.extensions["hostpulse.alerts"] = alerts = AlertService(settings.alerts)
    for module in (ingest, read, stream, viewers, install, alerts_api):
        app.register_blueprint(module.blueprint)
    _register_error_handlers(app)
    install_security_headers(app, tls=bool(settings.certfile))
    viewers.install_request_guards(app)
    _register_pages(app, settings)

    @app.before_serving
    async def startup() -> None:
        state = hub_state()
        await open_database(settings.db)
        state.tokens.start()
        state.writer.start()
        state.detector_state.start()
        state.compactor.start()
        await alerts.start()
        await state.bus.start()

    @app.after_serving
    async def shutdown() -> None:
        state = hub_state()
        await state.compactor.stop()
        await alerts.stop()
        await state.writer.stop()
        await state.detector_state.stop()
        await state.bus.stop()
        await state.tokens.stop()
        await close_database()

    tokens = app.extensions["hostpulse"].tokens

    async def known_token(token: str) -> bool:
        return await tokens.host(token) is not None

    # Quart's way to wrap its ASGI entry point in middleware (its docs); mypy sees a method.
    app.asgi_app = GzipRequestMiddleware(  # type: ignore[method-assign]
        app.asgi_app, settings.max_body_bytes, known_token, settings.body_timeout_s
    )
    return app


def _live_bus(settings: Settings) -> LocalBus:
    """In process for one hub; through Redis pub/sub when hubs share a live view (--redis)."""
    bus: LocalBus
    if settings.redis:
        from hostpulse.hub.live.redis_bus import RedisBus

        bus = RedisBus(settings.redis, settings.ws_queue_bytes)
    else:
        bus = LocalBus(settings.ws_queue_bytes)
    bus.limits = SessionLimits(settings.ws_max_sessions, settings.ws_max_sessions_per_viewer)
    bus.give_back_after_s = settings.ws_ping_s + 1  # past Hypercorn's ping task (live/bus.py)
    return bus


def _register_error_handlers(app: Quart) -> None:
    @app.errorhandler(HubError)
    async def hub_error(error: HubError) -> tuple[dict[str, Any], int, dict[str, str]]:
        return error.body(), error.status, error.headers

    @app.errorhandler(RequestSchemaValidationError)
    async def invalid_request(error: RequestSchemaValidationError) -> tuple[dict[str, Any], int]:
        code = "invalid_batch" if _is_ingest() else "invalid_request"
        if unsupported_version(error.validation_error):
            code = "unsupported_version"
        return error_body(code, _describe(error)), 400

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> tuple[dict[str, Any], int]:
        code = (error.name or "error").lower().replace(" ", "_")
        message = error.description or error.name or "error"
        if error.code == 400:
            code, message = "malformed_json", "the body is not valid JSON"
        elif error.code == 413:  # the same code as the gzip middleware's refusal
            code = "payload_too_large"
        return error_body(code, message), error.code or 500

    @app.errorhandler(WriteRefused)
    async def write_refused(error: WriteRefused) -> tuple[dict[str, Any], int, dict[str, str]]:
        # Retryable: the same batch_id is sent again after Retry-After.
        return error_body(error.code, error.message), 503, {"Retry-After": str(error.retry_after_s)}

    async def storage_down(error: Exception) -> tuple[dict[str, Any], int, dict[str, str]]:
        # The database is away (locked, full, restarting): retryable, like a full write queue.
        log.warning("storage unavailable: %s", error)
        body = error_body("storage_unavailable", f"storage unavailable: {error.__class__.__name__}")
        return body, 503, {"Retry-After": "2"}

    for kind in StorageDown:
        app.register_error_handler(kind, storage_down)

    @app.errorhandler(Exception)
    async def unexpected(error: Exception) -> tuple[dict[str, Any], int]:
        log.exception("unhandled error")
        return error_body(
            "internal_error", "the hub failed to handle this request; see its log"
        ), 500


def _is_ingest() -> bool:
    from quart import request

    return request.path.endswith("/ingest")


def _describe(error: RequestSchemaValidationError) -> str:
    """One readable line from pydantic's errors: where, and what was wrong."""
    inner = error.validation_error
    errors = getattr(inner, "errors", None)
    if callable(errors):
        parts = []
        for item in errors()[:5]:
            where = ".".join(str(p) for p in item.get("loc", ()))
            parts.append(f"{where}: {item.get('msg')}" if where else str(item.get("msg")))
        return "; ".join(parts)
    return str(inner)


def _register_pages(app: Quart, settings: Settings) -> None:
    static_dir = settings.static_dir

    @app.get("/healthz")
    @document_response(Health)
    @errors(503)
    async def healthz() -> dict[str, Any]:
        """200 when the hub can reach its database; a StorageDown error answers 503 otherwise, so a
        load balancer stops sending agents to a hub whose database is away."""
        state = hub_state()
        await connection().execute_query("SELECT 1")
        return {"status": "ok", "write_queue": state.writer.depth}

    @app.get("/metrics")
    @hide
    async def metrics() -> Response:
        await viewers.require_viewer()
        state = hub_state()
        return Response(
            render_metrics(state, state.compactor.lag_seconds()),
            content_type="text/plain; version=0.0.4",
        )

    @app.get("/")
    @hide
    async def index() -> Any:
        if not await viewers.is_viewer():
            return redirect("/login")
        if not (static_dir / "index.html").is_file():
            return error_body(
                "dashboard_not_built", f"no dashboard in {static_dir}: run `make build`"
            ), 503
        return await send_from_directory(static_dir, "index.html")

    @app.get("/<path:path>")
    @hide
    async def static_file(path: str) -> Any:
        return await send_from_directory(static_dir, path)
