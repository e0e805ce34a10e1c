"""Protocol models of the auth API (what clients send and get), separate from storage."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RegisterRequest(BaseModel):
    username: str = Field(description="3-64 letters, digits, '_', '-' or '.'")
    password: str = Field(description="6-256 characters")
    inviteCode: str | None = Field(None, description="Required when inviteCodeRequired is true")
    email: str | None = None
    displayName: str | None = None
    avatar: str | None = Field(None, description="An image URL")


class LoginRequest(BaseModel):
    usernameOrEmail: str
    password: str


class UserPublic(BaseModel):
    """The user as clients see it: never the password hash."""

    model_config = ConfigDict(frozen=True)

    userId: str
    username: str
    email: str | None
    containerId: str
    displayName: str | None
    avatar: str | None
    createdAt: int = Field(description="Milliseconds since the epoch")
    isAdmin: bool = Field(False, description="Whether the user may use /api/admin")


class AuthResponse(BaseModel):
    token: str
    user: UserPublic
    expiresIn: str = "7d"


class VerifyResponse(BaseModel):
    valid: bool
    user: UserPublic | None = None


class LogoutResponse(BaseModel):
    success: bool


class AuthConfigResponse(BaseModel):
    inviteCodeRequired: bool


class ErrorResponse(BaseModel):
    error: str
