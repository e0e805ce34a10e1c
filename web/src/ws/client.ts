/**
 * The `/ws` connection: commands matched to their results by id, automatic reconnection with
 * backoff, and the server's events and notices handed to listeners. Free of any UI framework.
 */
import {
  CLOSE_UNAUTHORIZED,
  type CommandType,
  type Data,
  type EventFrame,
  type HelloFrame,
  type NoticeFrame,
  type Params,
  parseFrame,
  type ResultFrame,
} from "./protocol";

/** What the client needs of a WebSocket (the browser's, or a fake in tests). */
export interface SocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

/** A command the server answered with `ok: false`, or one that could not be answered. */
export class CommandError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "CommandError";
  }
}

export const CONNECTION_LOST = "connection_lost";
export const TIMEOUT = "timeout";

export interface Backoff {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** Spread each delay by up to this fraction either way, so many tabs do not retry in step. */
  jitter: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 15_000, factor: 2, jitter: 0.2 };

/** The wait before reconnection attempt number `attempt` (0 for the first). */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** attempt);
  const spread = base * backoff.jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(base + spread));
}

export interface SocketClientOptions {
  /** The URL to connect to, asked again before every attempt (the token may change). */
  url: () => string;
  createSocket?: (url: string) => SocketLike;
  backoff?: Partial<Backoff>;
  random?: () => number;
  requestTimeoutMs?: number;
  /**
   * How often to check an idle-looking connection with a `ping` command, and how long to wait
   * for its answer before giving the socket up. A network that vanishes without a close (a
   * laptop waking up, a dead Wi-Fi) is noticed this way instead of after minutes.
   */
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
}

interface Listeners {
  state: (state: ConnectionState) => void;
  hello: (hello: HelloFrame, info: { reconnected: boolean }) => void;
  event: (frame: EventFrame) => void;
  notice: (frame: NoticeFrame) => void;
  /** The server closed the socket with 4401: the token was revoked or expired. */
  unauthorized: (reason: string) => void;
  /** A connection ended before its `hello`: the upgrade was refused or the server is down. */
  refused: () => void;
}

type ListenerSets = { [K in keyof Listeners]: Set<Listeners[K]> };

interface Pending {
  frame: string;
  sent: boolean;
  onResult: ((data: unknown) => void) | undefined;
  resolve: (data: unknown) => void;
  reject: (error: CommandError) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class SocketClient {
  private readonly options: Required<Omit<SocketClientOptions, "backoff">> & { backoff: Backoff };
  private readonly listeners: ListenerSets = {
    state: new Set(),
    hello: new Set(),
    event: new Set(),
    notice: new Set(),
    unauthorized: new Set(),
    refused: new Set(),
  };
  private readonly pending = new Map<string, Pending>();
  private socket: SocketLike | null = null;
  private ready = false;
  private stopped = true;
  private everConnected = false;
  private attempt = 0;
  private counter = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private currentState: ConnectionState = "closed";
  hello: HelloFrame | null = null;

  constructor(options: SocketClientOptions) {
    this.options = {
      url: options.url,
      createSocket: options.createSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike),
      random: options.random ?? Math.random,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      heartbeatMs: options.heartbeatMs ?? 25_000,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 10_000,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    };
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  on<K extends keyof Listeners>(name: K, listener: Listeners[K]): () => void {
    const set = this.listeners[name] as Set<Listeners[K]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  /** Close for good: pending commands fail, no reconnection. */
  stop(): void {
    this.stopped = true;
    this.clearRetry();
    const socket = this.socket;
    this.detach();
    socket?.close(1000, "bye");
    this.failAll(new CommandError(CONNECTION_LOST, "The connection was closed"));
    this.setState("closed");
  }

  /** Skip the rest of the backoff wait (the browser came back online, the tab is visible). */
  reconnectNow(): void {
    if (this.stopped || this.retryTimer === null) return;
    this.clearRetry();
    this.open();
  }

  /**
   * Send a command; resolves with its result's `data`, rejects with a `CommandError`.
   * `onResult` runs as the result frame is read, before any later frame is handed to
   * listeners (a promise's continuation could run after them).
   */
  request<K extends CommandType>(
    type: K,
    params: Params<K>,
    options: { onResult?: (data: Data<K>) => void; timeoutMs?: number } = {},
  ): Promise<Data<K>> {
    const id = `c${++this.counter}`;
    const frame = JSON.stringify({ ...params, type, id });
    return new Promise<Data<K>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CommandError(TIMEOUT, "The server did not answer in time"));
      }, options.timeoutMs ?? this.options.requestTimeoutMs);
      const entry: Pending = {
        frame,
        sent: false,
        onResult: options.onResult as ((data: unknown) => void) | undefined,
        resolve: resolve as (data: unknown) => void,
        reject,
        timer,
      };
      this.pending.set(id, entry);
      if (this.stopped) {
        this.settle(id)?.reject(new CommandError(CONNECTION_LOST, "Not connected"));
      } else if (this.ready) {
        this.transmit(entry);
      }
    });
  }

  private open(): void {
    this.setState(this.everConnected ? "reconnecting" : "connecting");
    let socket: SocketLike;
    try {
      socket = this.options.createSocket(this.options.url());
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    let greeted = false;
    socket.onmessage = (message) => {
      if (this.socket !== socket || typeof message.data !== "string") return;
      const frame = parseFrame(message.data);
      if (frame === null) return;
      switch (frame.type) {
        case "hello":
          greeted = true;
          this.greet(frame);
          break;
        case "result":
          this.answer(frame);
          break;
        case "event":
          for (const listener of this.listeners.event) listener(frame);
          break;
        case "notice":
          for (const listener of this.listeners.notice) listener(frame);
          break;
      }
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.lost(event, greeted);
    };
    socket.onerror = () => {
      // Always followed by a close event, which does the work.
    };
  }

  /** The socket closed (or was given up): fail what it carried, then reconnect or stop. */
  private lost(event: { code: number; reason: string }, greeted: boolean): void {
    this.detach();
    this.failSent();
    if (event.code === CLOSE_UNAUTHORIZED) {
      this.stopped = true;
      this.failAll(new CommandError(CONNECTION_LOST, "Signed out"));
      this.setState("closed");
      for (const listener of this.listeners.unauthorized) listener(event.reason);
      return;
    }
    if (this.stopped) return;
    if (!greeted) for (const listener of this.listeners.refused) listener();
    this.scheduleRetry();
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    const socket = this.socket;
    this.heartbeatTimer = setInterval(() => {
      this.request("ping", {}, { timeoutMs: this.options.heartbeatTimeoutMs }).catch((error: unknown) => {
        if (error instanceof CommandError && error.code === TIMEOUT && this.socket === socket && socket !== null) {
          // No answer: the connection is dead even if the browser has not noticed yet.
          socket.close(4000, "no answer to ping");
          this.lost({ code: 1006, reason: "no answer to ping" }, true);
        }
      });
    }, this.options.heartbeatMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private greet(hello: HelloFrame): void {
    this.hello = hello;
    this.ready = true;
    this.attempt = 0;
    const reconnected = this.everConnected;
    this.everConnected = true;
    this.setState("open");
    this.startHeartbeat();
    for (const entry of this.pending.values()) if (!entry.sent) this.transmit(entry);
    for (const listener of this.listeners.hello) listener(hello, { reconnected });
  }

  private answer(frame: ResultFrame): void {
    if (frame.id === null) return;
    const entry = this.settle(frame.id);
    if (entry === undefined) return;
    if (frame.ok) {
      const data = frame.data ?? {};
      entry.onResult?.(data);
      entry.resolve(data);
    } else {
      const error = frame.error ?? { code: "internal", message: "The command failed" };
      entry.reject(new CommandError(error.code, error.message));
    }
  }

  private transmit(entry: Pending): void {
    entry.sent = true;
    this.socket?.send(entry.frame);
  }

  private settle(id: string): Pending | undefined {
    const entry = this.pending.get(id);
    if (entry !== undefined) {
      clearTimeout(entry.timer);
      this.pending.delete(id);
    }
    return entry;
  }

  /** Commands already sent on a socket that closed may or may not have been carried out. */
  private failSent(): void {
    for (const [id, entry] of [...this.pending]) {
      if (entry.sent) {
        this.settle(id);
        entry.reject(new CommandError(CONNECTION_LOST, "The connection was lost"));
      }
    }
  }

  private failAll(error: CommandError): void {
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(error);
  }

  private detach(): void {
    this.stopHeartbeat();
    const socket = this.socket;
    if (socket !== null) {
      socket.onmessage = null;
      socket.onclose = null;
      socket.onerror = null;
    }
    this.socket = null;
    this.ready = false;
  }

  private scheduleRetry(): void {
    this.setState(this.everConnected ? "reconnecting" : "connecting");
    const delay = backoffDelay(this.attempt, this.options.backoff, this.options.random);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.open();
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private setState(state: ConnectionState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    for (const listener of this.listeners.state) listener(state);
  }
}
