/** The HTTP API (README "HTTP API"): sign-in, registration, tokens and server information. */
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
