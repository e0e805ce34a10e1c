"""The OpenAPI description of the HTTP routes, built the first time someone asks for it.

sanic-ext's ``openapi.*`` decorators build their definition objects as soon as they run, which
for our routes was about 70 ms of every start (a tenth of it) for a description that few
clients ever fetch. Handlers declare theirs with :func:`describe`, which only records it;
:func:`document_routes` hands the records to sanic-ext's own decorators the first time a
``/docs`` path is asked for (the app's middleware calls it). sanic-ext keeps the operation of
each handler it found at start and renders the description anew for every request of
``openapi.json``, so what it serves is what the decorators applied at import would give.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

JSON = "application/json"

Handler = TypeVar("Handler", bound=Callable[..., Any])


@dataclass(frozen=True)
class Query:
    """A query parameter of a route."""

    name: str
    type: type
    description: str


@dataclass(frozen=True)
class Inline:
    """A body described in place, where the others are named components (``$ref``)."""

    model: type[BaseModel]


Body = type[BaseModel] | Inline


@dataclass(frozen=True)
class RouteDoc:
    summary: str
    body: type[BaseModel] | None
    responses: Mapping[int, Body]
    secured: bool
    query: tuple[Query, ...]


_pending: list[tuple[Callable[..., Any], RouteDoc]] = []
_documented = False


def describe(
    summary: str,
    *,
    responses: Mapping[int, Body],
    body: type[BaseModel] | None = None,
    secured: bool = False,
    query: tuple[Query, ...] = (),
) -> Callable[[Handler], Handler]:
    """Record a route's description: its summary, JSON request body (a component), JSON
    answers by status, whether it takes a bearer token, and its query parameters."""
    doc = RouteDoc(summary, body, dict(responses), secured, query)

    def record(handler: Handler) -> Handler:
        _pending.append((handler, doc))
        return handler

    return record


def document_routes() -> None:
    """Apply the recorded descriptions, once per process (sanic-ext's store of operations is
    process-wide, like the handlers it is keyed by).

    This writes to each handler's operation as sanic-ext's decorators do, except for the
    body: ``openapi.body`` also wraps the handler in a new function and moves the operation
    to it, which only works before the route is registered.
    """
    global _documented
    if _documented:
        return
    _documented = True
    from sanic_ext.extensions.openapi.builders import OperationStore
    from sanic_ext.extensions.openapi.definitions import Component

    def content(model: Body) -> dict[str, Any]:
        if isinstance(model, Inline):
            return {JSON: model.model}
        return {JSON: Component(model)}

    store = OperationStore()
    for handler, doc in _pending:
        operation = store[handler]
        operation.describe(summary=doc.summary)
        if doc.secured:
            operation.secured("bearer")
        for parameter in doc.query:
            operation.parameter(
                parameter.name, parameter.type, "query", description=parameter.description
            )
        if doc.body is not None:
            operation.body(content(doc.body))
        for status, model in doc.responses.items():
            operation.response(status, content(model))
