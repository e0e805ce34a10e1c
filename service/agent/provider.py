"""The model client, and what its failures mean to a user."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import anthropic

log = logging.getLogger("portagent.agent")

SDK_MODULE = "anthropic"


def load_sdk() -> None:
    """Import the SDK. It is about half of the server's start-up time (thousands of modules and
    pydantic models), so the app calls this in a thread once it is listening."""
    importlib.import_module(SDK_MODULE)


def sdk_error() -> type[Exception]:
    """The SDK's base exception, for ``except`` clauses (evaluated only when something is raised,
    which cannot happen before a client exists, so the SDK is loaded by then)."""
    import anthropic

    return anthropic.AnthropicError


def make_model_client(
    *, api_key: str, base_url: str, timeout: float, max_retries: int
) -> anthropic.AsyncAnthropic:
    """One client for the server's lifetime. Key and URL are passed explicitly so that
    ``ANTHROPIC_*`` variables in the environment cannot redirect or re-key it."""
    import anthropic

    return anthropic.AsyncAnthropic(
        api_key=api_key,
        base_url=base_url.rstrip("/"),
        timeout=timeout,
        max_retries=max_retries,
        http_client=anthropic.DefaultAioHttpClient(timeout=timeout),
    )


class StreamBroken(Exception):
    """The HTTP stream from the provider broke in a way the SDK did not wrap."""


class ProviderProtocolError(Exception):
    """The provider's stream was readable but not the Messages API (an event that is not JSON,
    or not an object)."""


@dataclass(frozen=True)
class ProviderFailure:
    code: str
    message: str


def _error_type(error: anthropic.APIStatusError) -> str | None:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("type"), str):
            return inner["type"]
    return None


def _detail(error: anthropic.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"][:300]
    return f"HTTP {error.status_code}"


def classify_provider_error(error: Exception) -> ProviderFailure:
    """Map an SDK exception to a RUN_ERROR code and a message that says what to do."""
    import anthropic

    if isinstance(error, anthropic.APIStatusError):
        kind = _error_type(error)
        if isinstance(error, anthropic.RateLimitError) or kind == "rate_limit_error":
            return ProviderFailure(
                "provider_rate_limited",
                "The model provider is rate-limiting this server. Wait a minute and try again.",
            )
        if isinstance(
            error, anthropic.AuthenticationError | anthropic.PermissionDeniedError
        ) or kind in ("authentication_error", "permission_error"):
            log.error("the model provider refused the API key (HTTP %s)", error.status_code)
            return ProviderFailure(
                "provider_auth",
                "The model provider refused this server's API key. "
                "The operator must check LLM_PROVIDER_KEY.",
            )
        if error.status_code == 529 or kind == "overloaded_error":
            return ProviderFailure(
                "provider_overloaded",
                "The model provider is overloaded right now. Try again in a little while.",
            )
        log.warning("model provider error: HTTP %s %s", error.status_code, _detail(error))
        return ProviderFailure(
            "provider_error",
            f"The model provider answered with an error ({_detail(error)}).",
        )
    if isinstance(error, anthropic.APITimeoutError):
        return ProviderFailure(
            "provider_unreachable",
            "The model provider did not answer in time. Try again; if it keeps happening, "
            "the operator should check LLM_PROVIDER_URL and LLM_TIMEOUT.",
        )
    if isinstance(error, anthropic.APIConnectionError | StreamBroken):
        return ProviderFailure(
            "provider_unreachable",
            "The model provider could not be reached or dropped the connection. Try again; "
            "if it keeps happening, the operator should check LLM_PROVIDER_URL.",
        )
    if isinstance(error, ProviderProtocolError):
        log.warning("the model provider sent an unreadable stream: %s", error)
        return ProviderFailure(
            "provider_error",
            "The model provider sent a reply this server could not read. Try again; if it "
            "keeps happening, the operator should check LLM_PROVIDER_URL.",
        )
    log.warning("model stream failed: %s", type(error).__name__)
    return ProviderFailure("provider_error", "The model's reply broke off unexpectedly. Try again.")
