import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { settle, socketFactory } from "../test/fakes";
import { backoffDelay, CommandError, DEFAULT_BACKOFF, SocketClient } from "./client";

function makeClient(options: { requestTimeoutMs?: number } = {}) {
  const factory = socketFactory();
  let token = "t1";
  const client = new SocketClient({
    url: () => `ws://host/ws?token=${token}`,
    createSocket: factory.create,
    random: () => 0.5, // no jitter
    ...options,
  });
  return { client, factory, setToken: (value: string) => (token = value) };
}

describe("SocketClient", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("matches results to commands by id, whatever their order", async () => {
    const { client, factory } = makeClient();
    client.start();
    factory.current().hello();
    const list = client.request("session.list", {});
    const get = client.request("session.get", { sessionId: "s1" });
    const socket = factory.current();
    expect(socket.sent.map((frame) => frame.type)).toEqual(["session.list", "session.get"]);
    expect(socket.sent[0]?.id).not.toEqual(socket.sent[1]?.id);
    socket.answer(socket.last("session.get"), { lastSeq: 7 });
    socket.answer(socket.last("session.list"), { sessions: [] });
    await expect(get).resolves.toEqual({ lastSeq: 7 });
    await expect(list).resolves.toEqual({ sessions: [] });
  });

  it("rejects with the server's error code and message", async () => {
    const { client, factory } = makeClient();
    client.start();
    factory.current().hello();
    const send = client.request("message.send", { sessionId: "s1", content: "hi" });
    factory.current().refuse(factory.current().last("message.send"), "busy", "A reply is still being written");
    const error = await send.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CommandError);
    expect(error).toMatchObject({ code: "busy", message: "A reply is still being written" });
  });

  it("ignores results for ids it never sent and frames that are not JSON", async () => {
    const { client, factory } = makeClient();
    client.start();
    const socket = factory.current();
    socket.hello();
    const ping = client.request("ping", {});
    socket.receive({ type: "result", id: "nope", ok: true, data: {} });
    socket.onmessage?.({ data: "{not json" });
    socket.answer(socket.last("ping"), {});
    await expect(ping).resolves.toEqual({});
  });

  it("holds commands until the hello frame, then sends them", async () => {
    const { client, factory } = makeClient();
    client.start();
    const list = client.request("session.list", {});
    expect(factory.current().sent).toEqual([]);
    factory.current().hello();
    expect(factory.current().sent.map((frame) => frame.type)).toEqual(["session.list"]);
    factory.current().answer(factory.current().last("session.list"), { sessions: [] });
    await expect(list).resolves.toEqual({ sessions: [] });
  });

  it("times out a command the server does not answer", async () => {
    const { client, factory } = makeClient({ requestTimeoutMs: 1000 });
    client.start();
    factory.current().hello();
    const ping = client.request("ping", {});
    const outcome = ping.catch((caught: unknown) => caught);
    vi.advanceTimersByTime(999);
    await settle();
    vi.advanceTimersByTime(1);
    expect(await outcome).toMatchObject({ code: "timeout" });
    // A late answer changes nothing.
    factory.current().answer(factory.current().last("ping"), {});
  });

  it("runs onResult before the frames that follow the result", async () => {
    const { client, factory } = makeClient();
    client.start();
    const socket = factory.current();
    socket.hello();
    const order: string[] = [];
    client.on("event", (frame) => order.push(`event ${frame.seq}`));
    void client.request("session.subscribe", { sessionId: "s1", afterSeq: 0 }, { onResult: () => order.push("result") });
    socket.answer(socket.last("session.subscribe"), { lastSeq: 1, running: false });
    socket.event("s1", 1, { type: "RUN_STARTED", threadId: "s1", runId: "r1" });
    expect(order).toEqual(["result", "event 1"]);
  });

  it("reconnects with growing backoff and says so", async () => {
    const { client, factory, setToken } = makeClient();
    const states: string[] = [];
    const hellos: boolean[] = [];
    client.on("state", (state) => states.push(state));
    client.on("hello", (_hello, info) => hellos.push(info.reconnected));
    client.start();
    factory.current().hello();
    const pending = client.request("session.list", {}).catch((caught: unknown) => caught);

    setToken("t2");
    factory.current().drop();
    expect(await pending).toMatchObject({ code: "connection_lost" });
    expect(client.state).toBe("reconnecting");
    expect(factory.sockets).toHaveLength(1);
    vi.advanceTimersByTime(DEFAULT_BACKOFF.initialMs);
    expect(factory.sockets).toHaveLength(2);
    // The refused attempt waits twice as long before the next one.
    factory.current().drop();
    vi.advanceTimersByTime(DEFAULT_BACKOFF.initialMs * 2 - 1);
    expect(factory.sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(factory.sockets).toHaveLength(3);
    expect(factory.current().url).toBe("ws://host/ws?token=t2");
    factory.current().hello();
    expect(client.state).toBe("open");
    expect(hellos).toEqual([false, true]);
    expect(states).toEqual(["connecting", "open", "reconnecting", "open"]);
    // Back to the first delay after a success.
    factory.current().drop();
    vi.advanceTimersByTime(DEFAULT_BACKOFF.initialMs);
    expect(factory.sockets).toHaveLength(4);
  });

  it("keeps unsent commands across a reconnection", async () => {
    const { client, factory } = makeClient();
    client.start();
    factory.current().hello();
    factory.current().drop();
    const list = client.request("session.list", {});
    vi.advanceTimersByTime(DEFAULT_BACKOFF.initialMs);
    factory.current().hello();
    factory.current().answer(factory.current().last("session.list"), { sessions: [] });
    await expect(list).resolves.toEqual({ sessions: [] });
  });

  it("stops for good when the server closes with 4401", async () => {
    const { client, factory } = makeClient();
    const reasons: string[] = [];
    client.on("unauthorized", (reason) => reasons.push(reason));
    client.start();
    factory.current().hello();
    factory.current().drop(4401, "token revoked");
    expect(reasons).toEqual(["token revoked"]);
    expect(client.state).toBe("closed");
    vi.advanceTimersByTime(60_000);
    expect(factory.sockets).toHaveLength(1);
    await expect(client.request("ping", {})).rejects.toMatchObject({ code: "connection_lost" });
  });

  it("reports a connection that ends before its hello as refused", () => {
    const { client, factory } = makeClient();
    let refused = 0;
    client.on("refused", () => (refused += 1));
    client.start();
    factory.current().drop();
    expect(refused).toBe(1);
    vi.advanceTimersByTime(DEFAULT_BACKOFF.initialMs);
    factory.current().hello();
    factory.current().drop();
    expect(refused).toBe(1);
  });

  it("gives up a socket that stops answering pings, and reconnects", async () => {
    const { client, factory } = makeClient();
    client.start();
    factory.current().hello();
    // A connection that answers keeps going.
    vi.advanceTimersByTime(25_000);
    factory.current().answer(factory.current().last("ping"), {});
    await settle();
    vi.advanceTimersByTime(10_000);
    expect(client.state).toBe("open");
    // One that does not is closed and replaced.
    vi.advanceTimersByTime(15_000);
    const silent = factory.current();
    expect(silent.last("ping")).toBeDefined();
    vi.advanceTimersByTime(10_000);
    await settle();
    expect(silent.closed).not.toBeNull();
    expect(client.state).toBe("reconnecting");
    vi.advanceTimersByTime(DEFAULT_BACKOFF.initialMs);
    expect(factory.sockets).toHaveLength(2);
  });

  it("stop() closes the socket and fails what is pending", async () => {
    const { client, factory } = makeClient();
    client.start();
    factory.current().hello();
    const ping = client.request("ping", {});
    client.stop();
    await expect(ping).rejects.toMatchObject({ code: "connection_lost" });
    expect(factory.current().closed?.code).toBe(1000);
    vi.advanceTimersByTime(60_000);
    expect(factory.sockets).toHaveLength(1);
  });
});

describe("backoffDelay", () => {
  it("doubles up to the cap, spread by the jitter", () => {
    const none = () => 0.5;
    const backoff = { initialMs: 500, maxMs: 4000, factor: 2, jitter: 0.2 };
    expect([0, 1, 2, 3, 4, 10].map((attempt) => backoffDelay(attempt, backoff, none))).toEqual([
      500, 1000, 2000, 4000, 4000, 4000,
    ]);
    expect(backoffDelay(0, backoff, () => 0)).toBe(400);
    expect(backoffDelay(0, backoff, () => 1)).toBe(600);
  });
});
