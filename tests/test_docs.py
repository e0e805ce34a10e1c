"""The OpenAPI description at /docs: every route, with the request models that validate them."""

from __future__ import annotations

from typing import Any

import pytest

ROUTES = [
    ("get", "/health"),
    ("get", "/api/auth/config"),
    ("post", "/api/auth/register"),
    ("post", "/api/auth/login"),
    ("get", "/api/auth/verify"),
    ("post", "/api/auth/logout"),
    ("get", "/agentx/info"),
]


@pytest.fixture(scope="module")
def spec(shared_client: Any) -> dict[str, Any]:
    _, response = shared_client.get("/docs/openapi.json")
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/json")
    return response.json


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """Follow a ``$ref`` into the components; the name it points to, and the schema."""
    ref = schema.get("$ref")
    if ref is None:
        return schema.get("title"), schema
    prefix = "#/components/schemas/"
    assert ref.startswith(prefix)
    name = ref[len(prefix) :]
    return name, spec["components"]["schemas"][name]


def request_schema(spec: dict[str, Any], path: str) -> tuple[str | None, dict[str, Any]]:
    body = spec["paths"][path]["post"]["requestBody"]
    return resolve(spec, body["content"]["application/json"]["schema"])


def response_schema(
    spec: dict[str, Any], method: str, path: str, status: str
) -> tuple[str | None, dict[str, Any]]:
    response = spec["paths"][path][method]["responses"][status]
    return resolve(spec, response["content"]["application/json"]["schema"])


def test_the_description_names_the_product_and_its_version(spec: dict[str, Any]) -> None:
    from importlib.metadata import version

    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "Portagent"
    assert spec["info"]["version"] == version("portagent")


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_is_described(spec: dict[str, Any], method: str, path: str) -> None:
    assert method in spec["paths"][path]
    assert spec["paths"][path][method].get("summary")


def test_register_takes_the_register_request_model(spec: dict[str, Any]) -> None:
    name, schema = request_schema(spec, "/api/auth/register")
    assert name == "RegisterRequest"
    assert set(schema["properties"]) == {
        "username",
        "password",
        "inviteCode",
        "email",
        "displayName",
        "avatar",
    }
    assert sorted(schema["required"]) == ["password", "username"]


def test_login_takes_the_login_request_model(spec: dict[str, Any]) -> None:
    name, schema = request_schema(spec, "/api/auth/login")
    assert name == "LoginRequest"
    assert set(schema["properties"]) == {"usernameOrEmail", "password"}
    assert sorted(schema["required"]) == ["password", "usernameOrEmail"]


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/api/auth/register", ("201", "400", "409", "429")),
        ("/api/auth/login", ("200", "400", "401", "429")),
    ],
)
def test_the_answers_and_errors_are_described(
    spec: dict[str, Any], path: str, statuses: tuple[str, ...]
) -> None:
    assert set(statuses) <= set(spec["paths"][path]["post"]["responses"])
    _, error = response_schema(spec, "post", path, statuses[1])
    assert "error" in error["properties"]


def test_the_user_in_the_answer_is_the_public_user(spec: dict[str, Any]) -> None:
    _, answer = response_schema(spec, "post", "/api/auth/login", "200")
    assert set(answer["properties"]) == {"token", "user", "expiresIn"}
    _, user = resolve(spec, answer["properties"]["user"])
    assert set(user["properties"]) == {
        "userId",
        "username",
        "email",
        "containerId",
        "displayName",
        "avatar",
        "createdAt",
        "isAdmin",
    }
    # Milliseconds since the epoch do not fit in 32 bits.
    assert user["properties"]["createdAt"].get("format") != "int32"


def test_the_token_routes_are_marked_as_bearer_secured(spec: dict[str, Any]) -> None:
    for path in ("/api/auth/verify", "/agentx/info"):
        assert {"bearer": []} in spec["paths"][path]["get"]["security"]
    scheme = spec["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"


def test_the_docs_page_is_served(shared_client: Any) -> None:
    _, response = shared_client.get("/docs")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/html")
