"""Protocol models of the admin and usage API (what clients send and get)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TokenCounts(BaseModel):
    inputTokens: int = Field(description="Prompt tokens: uncached, cache reads and cache writes")
    outputTokens: int
    totalTokens: int


class DayCounts(TokenCounts):
    date: str = Field(description="UTC day, YYYY-MM-DD")


class AdminUser(BaseModel):
    userId: str
    username: str
    email: str | None
    displayName: str | None
    createdAt: int = Field(description="Milliseconds since the epoch")
    isAdmin: bool
    isActive: bool
    dailyTokenLimit: int | None = Field(
        description="This user's own daily limit (0: none); null: the server's default"
    )
    effectiveDailyTokenLimit: int | None = Field(description="The limit that applies; null: none")
    runningRuns: int
    usageToday: TokenCounts


class AdminUsersResponse(BaseModel):
    users: list[AdminUser]


class AdminUserResponse(BaseModel):
    user: AdminUser


class PasswordResetRequest(BaseModel):
    password: str = Field(description="6-256 characters")


class QuotaRequest(BaseModel):
    dailyTokenLimit: int | None = Field(
        description="Tokens per UTC day for this user; 0: no limit; null: the server's default"
    )


class Invite(BaseModel):
    id: str
    uses: int
    maxUses: int
    expiresAt: int | None
    createdAt: int
    revoked: bool
    usable: bool
    note: str | None


class InvitesResponse(BaseModel):
    invites: list[Invite]


class InviteCreateRequest(BaseModel):
    uses: int = Field(1, description="How many registrations (1-1000)")
    expiresIn: str | None = Field(None, description="Lifetime such as 30m, 12h, 7d or 2w")
    note: str | None = Field(None, description="Up to 200 characters")


class InviteCreatedResponse(BaseModel):
    code: str = Field(description="The code; shown only in this answer")
    invite: Invite


class UserDayUsage(DayCounts):
    userId: str
    username: str | None


class AdminUsageResponse(BaseModel):
    since: str = Field(description="First UTC day counted")
    until: str = Field(description="Last UTC day counted (today)")
    days: list[UserDayUsage]
    total: TokenCounts


class UsageResponse(BaseModel):
    today: DayCounts
    days: list[DayCounts] = Field(description="The last 7 UTC days with usage, oldest first")
    dailyTokenLimit: int | None = Field(description="null: no limit")
    remainingTokens: int | None
    resetsAt: int = Field(description="Next 00:00 UTC, milliseconds since the epoch")
    maxConcurrentRuns: int | None = Field(description="null: no limit")


class SuccessResponse(BaseModel):
    success: bool
