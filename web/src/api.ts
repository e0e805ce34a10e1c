/**
 * The HTTP API (README "HTTP API" and "Admin API"): sign-in, registration, tokens, server
 * information, one's own usage, and what admins manage (users, invite codes, usage).
 */
import { apiUrl } from "./routes";
import type { User } from "./ws/protocol";

export interface SignedIn {
  token: string;
  user: User;
  expiresIn: string;
}

export interface ServerInfo {
  version: string;
  wsPath: string;
  demo: boolean;
}

export interface TokenCounts {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

export interface DayCounts extends TokenCounts {
  /** UTC day, YYYY-MM-DD. */
  date: string;
}

/** `GET /api/usage`: the signed-in user's own usage and limits. */
export interface Usage {
  today: DayCounts;
  days: DayCounts[];
  /** null: no limit. */
  dailyTokenLimit: number | null;
  remainingTokens: number | null;
  /** Next 00:00 UTC, ms since the epoch. */
  resetsAt: number;
  maxConcurrentRuns: number | null;
}

/** A user as admins see them. */
export interface AdminUser {
  userId: string;
  username: string;
  email: string | null;
  displayName: string | null;
  createdAt: number;
  isAdmin: boolean;
  isActive: boolean;
  /** This user's own limit (0: none); null: the server's default. */
  dailyTokenLimit: number | null;
  /** The limit that applies; null: none. */
  effectiveDailyTokenLimit: number | null;
  runningRuns: number;
  usageToday: TokenCounts;
}

export interface Invite {
  id: string;
  uses: number;
  maxUses: number;
  expiresAt: number | null;
  createdAt: number;
  revoked: boolean;
  usable: boolean;
  note: string | null;
}

export interface UserDayUsage extends DayCounts {
  userId: string;
  username: string | null;
}

export interface AdminUsage {
  since: string;
  until: string;
  days: UserDayUsage[];
  total: TokenCounts;
}

/** An answer other than 2xx: `message` is the server's `error` text, shown as it is. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export class Api {
  constructor(
    private readonly base: string,
    private readonly fetcher: typeof fetch = (...args) => fetch(...args),
  ) {}

  async config(): Promise<{ inviteCodeRequired: boolean }> {
    return this.call("GET", "api/auth/config");
  }

  async register(body: {
    username: string;
    password: string;
    inviteCode?: string;
    email?: string;
    displayName?: string;
  }): Promise<SignedIn> {
    return this.call("POST", "api/auth/register", { body });
  }

  async login(usernameOrEmail: string, password: string): Promise<SignedIn> {
    return this.call("POST", "api/auth/login", { body: { usernameOrEmail, password } });
  }

  /** The token's user, or null when the server says the token is no longer valid. */
  async verify(token: string): Promise<User | null> {
    try {
      const answer = await this.call<{ valid: boolean; user?: User }>("GET", "api/auth/verify", { token });
      return answer.valid && answer.user ? answer.user : null;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return null;
      throw error;
    }
  }

  async logout(token: string): Promise<void> {
    await this.call("POST", "api/auth/logout", { token });
  }

  async info(token: string): Promise<ServerInfo> {
    return this.call("GET", "agentx/info", { token });
  }

  async usage(token: string): Promise<Usage> {
    return this.call("GET", "api/usage", { token });
  }

  async adminUsers(token: string): Promise<AdminUser[]> {
    return (await this.call<{ users: AdminUser[] }>("GET", "api/admin/users", { token })).users;
  }

  async setActive(token: string, userId: string, active: boolean): Promise<AdminUser> {
    const action = active ? "activate" : "deactivate";
    return (await this.call<{ user: AdminUser }>("POST", `api/admin/users/${encodeURIComponent(userId)}/${action}`, { token })).user;
  }

  async resetPassword(token: string, userId: string, password: string): Promise<void> {
    await this.call("POST", `api/admin/users/${encodeURIComponent(userId)}/password`, { token, body: { password } });
  }

  /** `dailyTokenLimit`: 0 for no limit, null for the server's default. */
  async setQuota(token: string, userId: string, dailyTokenLimit: number | null): Promise<AdminUser> {
    const path = `api/admin/users/${encodeURIComponent(userId)}/quota`;
    return (await this.call<{ user: AdminUser }>("POST", path, { token, body: { dailyTokenLimit } })).user;
  }

  async invites(token: string): Promise<Invite[]> {
    return (await this.call<{ invites: Invite[] }>("GET", "api/admin/invites", { token })).invites;
  }

  /** A new invite code: the answer is the only time the server shows it. */
  async createInvite(
    token: string,
    body: { uses: number; expiresIn: string | null; note: string | null },
  ): Promise<{ code: string; invite: Invite }> {
    return this.call("POST", "api/admin/invites", { token, body });
  }

  async revokeInvite(token: string, inviteId: string): Promise<void> {
    await this.call("DELETE", `api/admin/invites/${encodeURIComponent(inviteId)}`, { token });
  }

  async adminUsage(token: string, days = 7): Promise<AdminUsage> {
    return this.call("GET", `api/admin/usage?days=${days}`, { token });
  }

  private async call<T>(method: string, path: string, options: { body?: unknown; token?: string } = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
    let response: Response;
    try {
      response = await this.fetcher(apiUrl(this.base, path), {
        method,
        headers,
        body: options.body === undefined ? null : JSON.stringify(options.body),
      });
    } catch {
      throw new ApiError(0, "Cannot reach the server. Check your connection and try again.");
    }
    let payload: unknown = null;
    try {
      payload = await response.json();
    } catch {
      payload = null;
    }
    if (!response.ok) {
      const text = (payload as { error?: unknown } | null)?.error;
      throw new ApiError(
        response.status,
        typeof text === "string" ? text : `The server answered ${response.status}. Try again in a moment.`,
      );
    }
    return payload as T;
  }
}
