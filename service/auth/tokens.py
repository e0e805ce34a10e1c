"""JWTs: HS256 only, with ``sub``, ``iat``, ``exp`` and ``jti``; revocation by ``jti``.

A user whose password an admin reset has a new token generation; their tokens carry it in a
``gen`` claim (left out while it is 0, the generation of every account at first), and tokens of
an older generation are refused.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
TOKEN_TTL_SECONDS = 7 * 24 * 3600
TOKEN_TTL_LABEL = "7d"


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    jti: str
    issued_at: int
    expires_at: int
    generation: int = 0


class TokenError(Exception):
    """The token is malformed, forged, uses another algorithm, or has expired."""


def issue_token(user_id: str, secret: str, *, generation: int = 0, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    claims: dict[str, str | int] = {
        "sub": user_id,
        "iat": issued,
        "exp": issued + TOKEN_TTL_SECONDS,
        "jti": uuid.uuid4().hex,
    }
    if generation:
        claims["gen"] = generation
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(token: str, secret: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "iat", "exp", "jti"]},
        )
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise TokenError(type(error).__name__) from None
    subject, jti = claims.get("sub"), claims.get("jti")
    if not isinstance(subject, str) or not subject or not isinstance(jti, str) or not jti:
        raise TokenError("bad claims")
    generation = claims.get("gen", 0)
    if isinstance(generation, bool) or not isinstance(generation, int) or generation < 0:
        raise TokenError("bad claims")
    return TokenClaims(
        user_id=subject,
        jti=jti,
        issued_at=int(claims["iat"]),
        expires_at=int(claims["exp"]),
        generation=generation,
    )


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if there is one."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
