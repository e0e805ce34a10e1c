/** A WebSocket stand-in for unit tests: records what the client sends, plays the server's part. */
import type { SocketLike } from "../ws/client";

export class FakeSocket implements SocketLike {
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: Record<string, unknown>[] = [];
  closed: { code?: number; reason?: string } | null = null;

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code?: number, reason?: string): void {
    this.closed = { code, reason };
  }

  /** The server sends one frame. */
  receive(frame: unknown): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  hello(): void {
    this.receive({
      type: "hello",
      protocol: 1,
      user: {
        userId: "u1",
        username: "alice",
        email: null,
        containerId: "c1",
        displayName: null,
        avatar: null,
        createdAt: 0,
      },
      server: { version: "0.1.0", demo: true },
    });
  }

  /** The socket drops (the server went away, the network broke). */
  drop(code = 1006, reason = ""): void {
    this.onclose?.({ code, reason });
  }

  /** The last command sent of this type. */
  last(type: string): Record<string, unknown> {
    const frame = [...this.sent].reverse().find((item) => item.type === type);
    if (frame === undefined) throw new Error(`no ${type} command was sent`);
    return frame;
  }

  answer(command: Record<string, unknown>, data: unknown): void {
    this.receive({ type: "result", id: command.id, ok: true, data });
  }

  refuse(command: Record<string, unknown>, code: string, message: string): void {
    this.receive({ type: "result", id: command.id, ok: false, error: { code, message } });
  }

  event(sessionId: string, seq: number, event: Record<string, unknown>): void {
    this.receive({ type: "event", sessionId, seq, event });
  }
}

/** Every socket a client opened, newest last. */
export function socketFactory(): { sockets: FakeSocket[]; create: (url: string) => FakeSocket; current: () => FakeSocket } {
  const sockets: FakeSocket[] = [];
  return {
    sockets,
    create: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    current: () => {
      const socket = sockets[sockets.length - 1];
      if (socket === undefined) throw new Error("no socket was opened");
      return socket;
    },
  };
}

/** Let promise continuations run. */
export async function settle(): Promise<void> {
  for (let index = 0; index < 5; index += 1) await Promise.resolve();
}
