"""Health, readiness, Prometheus metrics, request ids, structured logs and `Server-Timing`.

One pure ASGI middleware does the per-request part: it takes the caller's `X-Request-Id`
(or makes one) into a context variable that the error envelope (`traceId`) and every log
line read, starts the stage timer of `recordbase.timing`, and on the way out adds
`X-Request-Id` and `Server-Timing`, counts the request by route template and logs it.
With `PROMETHEUS_MULTIPROC_DIR` set, every worker process writes its metrics there and
`/metrics` in any worker reports the sum over all of them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import orjson
import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recordbase import __version__, timing
from recordbase.api.http import JSONResponse
from recordbase.errors import RecordbaseError
from recordbase.services import Services
from recordbase.settings import Settings

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
REQUEST_ID: ContextVar[str] = ContextVar("recordbase_request_id", default="")
REQUEST_ID_KEY = "recordbase.request_id"
UNMATCHED = "<unmatched>"
READY_TIMEOUT_S = 5.0
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000)
_SANE_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
access_logger = structlog.get_logger("recordbase.access")


def current_request_id() -> str:
    """The id of the request being handled ('' outside a request)."""
    return REQUEST_ID.get()


def request_id_from(headers: Sequence[tuple[bytes, bytes]]) -> str:
    """The caller's `X-Request-Id` when it looks sane, else a new one."""
    for name, value in headers:
        if name == b"x-request-id":
            given = value.decode("latin-1")
            if _SANE_ID.match(given):
                return given
            break
    return os.urandom(16).hex()  # what `secrets.token_hex(16)` returns, without its three calls


# Metrics ---------------------------------------------------------------------------------------


class Metrics:
    """The app's Prometheus metrics, in a registry of its own (no process-wide state)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._in_use = self._published = 0
        self.multiprocess_dir = os.environ.get(MULTIPROCESS_ENV) or None
        reg = self.registry
        self.requests = Counter(
            "recordbase_http_requests",
            "HTTP requests by route template.",
            ["method", "route", "status"],
            registry=reg,
        )
        self.latency = Histogram(
            "recordbase_http_request_duration_seconds",
            "Time to the first byte of the response, by route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.batch_size = Histogram(
            "recordbase_batch_size",
            "Records per batch request.",
            ["operation"],
            buckets=BATCH_BUCKETS,
            registry=reg,
        )
        self.db_in_use = Gauge(
            "recordbase_db_connections_in_use",
            "Database connections checked out right now (summed over live workers).",
            multiprocess_mode="livesum",
            registry=reg,
        )

    def db_usage(self, delta: int) -> None:
        """Counted here on each checkout and return; the gauge hears the count once per request
        (and at each scrape), not four times a request."""
        self._in_use += delta

    def _publish_in_use(self) -> None:
        if self._in_use != self._published:
            self._published = self._in_use
            self.db_in_use.set(self._in_use)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:  # `labels()` looks its child up anew on each call: keep them
            children = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        self._publish_in_use()

    def render(self) -> bytes:
        self._publish_in_use()
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(merged)

    def close(self) -> None:
        """Forget this process's live gauges (multiprocess mode), as a worker does on exit."""
        if self.multiprocess_dir is not None:
            multiprocess.mark_process_dead(os.getpid(), self.multiprocess_dir)  # type: ignore[no-untyped-call]


def prepare_metrics_directory(settings: Settings) -> None:
    """Before starting several workers: metrics go through files in `PROMETHEUS_MULTIPROC_DIR`
    (default: `metrics` in the data directory), emptied of an earlier run's files."""
    given = os.environ.get(MULTIPROCESS_ENV)
    if settings.workers <= 1 and not given:
        return
    directory = Path(given) if given else settings.data_dir / "metrics"
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROCESS_ENV] = str(directory)


def record_batch_size(request: Request, operation: str, size: int) -> None:
    """Hook for batch handlers: observe how many records one batch request carried."""
    metrics: Metrics | None = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.batch_size.labels(operation).observe(size)


# Middleware ------------------------------------------------------------------------------------


class RouteTemplates:
    """The route template of a matched request (`/api/EntityService/{entity_name}/read`), for labels.

    Starlette leaves the innermost matched route in `scope["route"]` and the concrete path of the
    mounts it passed in `root_path`. One route object may sit under several chains of mounts (the
    three API prefixes), so each route knows the template of every chain above it, and the chain
    whose pattern the concrete prefix matches wins.
    """

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self.chains: dict[int, list[tuple[re.Pattern[str], str]]] = {}
        for route, prefix in _templates(routes):
            pattern = compile_path(prefix)[0] if prefix else re.compile("^$")
            self.chains.setdefault(id(route), []).append((pattern, prefix))
        self._found: dict[tuple[int, str], str] = {}

    def __call__(self, scope: Scope) -> str:
        route = scope.get("route")
        path = getattr(route, "path", None)
        if not isinstance(route, Route) or path is None:
            return UNMATCHED
        root = scope.get("root_path", "")[len(scope.get("app_root_path", "")) :]
        key = (id(route), root)
        found = self._found.get(key)
        if found is None:
            chains = self.chains.get(id(route), ())
            prefix = next((template for pattern, template in chains if pattern.match(root)), root)
            if len(self._found) > 10_000:  # concrete prefixes (an org's name) are many
                self._found.clear()
            found = self._found[key] = prefix + str(path)
        return found


def _templates(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[BaseRoute, str]]:
    """Each route below `routes` with the template of the mounts above it."""
    for route in routes:
        if isinstance(route, Mount):
            yield from _templates(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            yield route, prefix


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, templates: RouteTemplates, access_log: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = templates
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope["headers"])
        scope[REQUEST_ID_KEY] = request_id  # for the 500 answered outside this middleware
        id_token = REQUEST_ID.set(request_id)
        timings, timing_token = timing.start()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *response_headers(request_id, timings)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            self.finish(scope, status, timings)
            timing.finish(timing_token)
            REQUEST_ID.reset(id_token)

    def finish(self, scope: Scope, status: int, timings: timing.Timings) -> None:
        route = self.templates(scope)
        seconds = timings.elapsed()
        self.metrics.observe(scope["method"], route, status, seconds)
        if self.access_log:
            access_logger.info(
                "request",
                method=scope["method"],
                route=route,
                path=scope["path"],
                status=status,
                duration_ms=round(seconds * 1000, 3),
            )


def response_headers(request_id: str, timings: timing.Timings) -> list[tuple[bytes, bytes]]:
    stages = [*timings.stages.items(), ("total", timings.elapsed())]
    server_timing = ", ".join(f"{name};dur={seconds * 1000:.2f}" for name, seconds in stages)
    return [(b"x-request-id", request_id.encode()), (b"server-timing", server_timing.encode())]


# Endpoints -------------------------------------------------------------------------------------


async def healthz(request: Request) -> Response:
    """The process is up and serving HTTP; says nothing about the database."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready for traffic: the database answers, and the file store too when one is configured."""
    services: Services = request.app.state.services
    checks = {"database": await _check(services.ping_database())}
    files = getattr(services, "files", None)
    if files is not None:
        checks["files"] = await _check(_files_reachable(files))
    ready = all(result == "ok" for result in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


async def _files_reachable(files: Any) -> None:
    """The file store answers a listing (its own `ping()` where it has one)."""
    probe = getattr(files, "ping", None)
    if probe is not None:
        await probe()
        return
    async for _ in getattr(files, "blobs", files).list("readyz-probe/"):
        break


async def _check(probe: Any) -> str:
    """`ok`, or `failed: ` and what failed in words (a recordbase error's message, never a store's dump)."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            await probe
    except RecordbaseError as error:
        return f"failed: {error.message}"
    except TimeoutError:
        return f"failed: no answer within {READY_TIMEOUT_S:g} s"
    except Exception as error:  # any failure means "not ready", reported by kind
        return f"failed: {type(error).__name__}"
    return "ok"


async def metrics(request: Request) -> Response:
    """Prometheus text format; in multiprocess mode the sum over every worker."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


def routes() -> list[BaseRoute]:
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


# Logging ---------------------------------------------------------------------------------------


def _add_request_id(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    request_id = REQUEST_ID.get()
    if request_id:
        event.setdefault("request_id", request_id)
    return event


def _add_process(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """Which worker wrote the line (several share one log)."""
    event.setdefault("pid", os.getpid())
    return event


def _json(event: Any, **_: Any) -> str:
    return orjson.dumps(event, default=str).decode()


def log_format(settings: Settings) -> str:
    """`console` or `json`; `auto` is console when the server runs on a terminal (stdout and stderr,
    where the lines go, are both TTYs), JSON under systemd, in a container or into a file."""
    if settings.log_format != "auto":
        return settings.log_format
    return "console" if sys.stdout.isatty() and sys.stderr.isatty() else "json"


def start_line(settings: Settings) -> str:
    """The one line that says the server is up: version, address, docs, where the admin token is."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    base = f"http://{host}:{settings.port}"
    token = settings.data_dir / "admin-token"
    where = f"admin token in {token}" if token.exists() else "admin tokens: recordbase token create --admin"
    return f"recordbase {__version__} listening on {base}, docs at {base}/api/docs, {where}"


QUIET_LOGGERS = ("alembic",)
"""Libraries whose informational start-up lines are debug detail here."""
QUIET_UVICORN = ("Started server process", "Waiting for application", "Application startup complete")


class StartupLines(logging.Filter):
    """Start-up chatter (alembic's context lines, uvicorn's lifecycle steps) at debug level, and
    uvicorn's "running on" line replaced by `start_line`, once, after the socket is bound."""

    def __init__(self, level: int, settings: Settings) -> None:
        super().__init__()
        self.level = level
        self.settings = settings

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if record.name.startswith(QUIET_LOGGERS) or (
            record.name.startswith("uvicorn") and message.startswith(QUIET_UVICORN)
        ):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        elif record.name.startswith("uvicorn") and message.startswith("Uvicorn running on"):
            record.name, record.msg, record.args = "recordbase", start_line(self.settings), ()
            record.__dict__.pop("color_message", None)
        return record.levelno >= self.level


def configure_logging(settings: Settings) -> None:
    """Route structlog and the standard library's logging (uvicorn's too) through one renderer:
    one JSON object per line with timestamp, level, logger and request id, or console text."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _add_request_id,
        _add_process,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer()
        if log_format(settings) == "console"
        else structlog.processors.JSONRenderer(_json)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    level = logging.getLevelNamesMapping()[settings.log_level.upper()]
    handler.addFilter(StartupLines(level, settings))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        # uvicorn's own access line would repeat ours (`access_log`), without the route template.
        logging.getLogger(name).propagate = name != "uvicorn.access"
