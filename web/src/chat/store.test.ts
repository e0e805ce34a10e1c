import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type FakeSocket, settle, socketFactory } from "../test/fakes";
import { DEFAULT_BACKOFF, SocketClient } from "../ws/client";
import type { SessionDetail, SessionInfo } from "../ws/protocol";
import { ChatStore } from "./store";

const SESSION: SessionInfo = {
  id: "s1",
  title: "Hello",
  createdAt: 1,
  updatedAt: 2,
  running: true,
  messageCount: 3,
};

function setup() {
  const factory = socketFactory();
  const client = new SocketClient({ url: () => "ws://host/ws?token=t", createSocket: factory.create, random: () => 0.5 });
  const store = new ChatStore(client, () => 1000);
  store.attach();
  client.start();
  factory.current().hello();
  factory.current().answer(factory.current().last("session.list"), { sessions: [SESSION] });
  return { store, factory };
}

function texts(store: ChatStore): string[] {
  return (store.snapshot.current?.transcript.items ?? []).map((item) =>
    "text" in item ? `${item.kind}:${item.text}` : `${item.kind}`,
  );
}

/** The events of a run that says "Hello world" after the user's "Hi", from `seq` 5. */
function runEvents(socket: FakeSocket, from: number, to: number): void {
  const events: Record<string, unknown>[] = [
    { type: "RUN_STARTED", threadId: "s1", runId: "r2" },
    { type: "TEXT_MESSAGE_START", messageId: "u2", role: "user" },
    { type: "TEXT_MESSAGE_CONTENT", messageId: "u2", delta: "Hi" },
    { type: "TEXT_MESSAGE_END", messageId: "u2" },
    { type: "TEXT_MESSAGE_START", messageId: "a2", role: "assistant" },
    { type: "TEXT_MESSAGE_CONTENT", messageId: "a2", delta: "Hello" },
    { type: "TEXT_MESSAGE_CONTENT", messageId: "a2", delta: " world" },
    { type: "TEXT_MESSAGE_END", messageId: "a2" },
    { type: "RUN_FINISHED", threadId: "s1", runId: "r2", outcome: { type: "success" } },
  ];
  for (let seq = from; seq <= to; seq += 1) {
    const event = events[seq - 5];
    if (event !== undefined) socket.event("s1", seq, event);
  }
}

/** A session with one finished run (seq 1-4) and a second one going since seq 5. */
const DETAIL_MID_RUN: SessionDetail = {
  session: SESSION,
  messages: [
    { id: "u1", role: "user", content: "First" },
    { id: "a1", role: "assistant", content: "Answer" },
    { id: "u2", role: "user", content: "Hi" },
  ],
  runs: [
    { id: "r1", status: "completed", usage: {}, startedAt: 1, endedAt: 2, messageIds: ["u1", "a1"] },
    { id: "r2", status: "running", usage: {}, startedAt: 3, endedAt: null, messageIds: ["u2", "a2"] },
  ],
  lastSeq: 10,
  runStartSeq: 5,
};

describe("ChatStore", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("loads a finished conversation and subscribes after its last seq", async () => {
    const { store, factory } = setup();
    store.open("s1");
    const socket = factory.current();
    socket.answer(socket.last("session.get"), { ...DETAIL_MID_RUN, runStartSeq: undefined, lastSeq: 4, runs: [DETAIL_MID_RUN.runs[0]], messages: DETAIL_MID_RUN.messages.slice(0, 2) });
    await settle();
    expect(socket.last("session.subscribe")).toMatchObject({ sessionId: "s1", afterSeq: 4 });
    socket.answer(socket.last("session.subscribe"), { lastSeq: 4, running: false });
    runEvents(socket, 5, 13);
    await settle();
    expect(texts(store)).toEqual(["user:First", "assistant:Answer", "run-end", "user:Hi", "assistant:Hello world", "run-end"]);
  });

  it("mid-run: shows what is complete, replays the run from its start, no gap, no duplicate", async () => {
    const { store, factory } = setup();
    store.open("s1");
    const socket = factory.current();
    socket.answer(socket.last("session.get"), DETAIL_MID_RUN);
    await settle();
    // The running run's messages are left out: its replay brings them.
    expect(texts(store)).toEqual(["user:First", "assistant:Answer", "run-end"]);
    expect(socket.last("session.subscribe")).toMatchObject({ afterSeq: 4 });
    socket.answer(socket.last("session.subscribe"), { lastSeq: 10, running: true });
    runEvents(socket, 5, 10);
    await settle();
    expect(texts(store)).toEqual(["user:First", "assistant:Answer", "run-end", "user:Hi", "assistant:Hello"]);
    expect(store.snapshot.current?.transcript.runId).toBe("r2");
    const streaming = store.snapshot.current?.transcript.items.find((item) => item.id === "a2");
    expect(streaming).toMatchObject({ streaming: true });
  });

  it("drops events that arrive before the subscribe result while loading", async () => {
    const { store, factory } = setup();
    store.open("s1");
    const socket = factory.current();
    runEvents(socket, 5, 6); // e.g. still subscribed from an earlier visit
    socket.answer(socket.last("session.get"), DETAIL_MID_RUN);
    await settle();
    runEvents(socket, 11, 11); // live, but before the replay: must wait for it
    socket.answer(socket.last("session.subscribe"), { lastSeq: 11, running: true });
    runEvents(socket, 5, 11);
    await settle();
    expect(texts(store)).toEqual(["user:First", "assistant:Answer", "run-end", "user:Hi", "assistant:Hello world"]);
  });

  it("resumes after a dropped socket from the last seq applied, ignoring the overlap", async () => {
    const { store, factory } = setup();
    store.open("s1");
    let socket = factory.current();
    socket.answer(socket.last("session.get"), DETAIL_MID_RUN);
    await settle();
    socket.answer(socket.last("session.subscribe"), { lastSeq: 10, running: true });
    runEvents(socket, 5, 10); // up to "Hello"
    socket.drop();
    await settle();
    expect(store.snapshot.connection).toBe("reconnecting");
    vi.advanceTimersByTime(DEFAULT_BACKOFF.initialMs);
    socket = factory.current();
    socket.hello();
    await settle();
    expect(socket.last("session.subscribe")).toMatchObject({ sessionId: "s1", afterSeq: 10 });
    socket.answer(socket.last("session.subscribe"), { lastSeq: 12, running: true });
    runEvents(socket, 9, 13); // the server repeats 9 and 10: they must not be applied twice
    await settle();
    expect(texts(store)).toEqual(["user:First", "assistant:Answer", "run-end", "user:Hi", "assistant:Hello world", "run-end"]);
    expect(store.snapshot.current?.transcript.runId).toBeNull();
  });

  it("reloads the history when the server can no longer replay", async () => {
    const { store, factory } = setup();
    store.open("s1");
    let socket = factory.current();
    socket.answer(socket.last("session.get"), DETAIL_MID_RUN);
    await settle();
    socket.answer(socket.last("session.subscribe"), { lastSeq: 10, running: true });
    runEvents(socket, 5, 7);
    socket.drop();
    vi.advanceTimersByTime(DEFAULT_BACKOFF.initialMs);
    socket = factory.current();
    socket.hello();
    await settle();
    socket.answer(socket.last("session.subscribe"), { lastSeq: 20, running: false, replay: "unavailable" });
    runEvents(socket, 12, 12); // ignored: arrives before the reload's own subscribe result
    await settle();
    socket.answer(socket.last("session.get"), {
      ...DETAIL_MID_RUN,
      messages: [...DETAIL_MID_RUN.messages, { id: "a2", role: "assistant", content: "Hello world" }],
      runs: [DETAIL_MID_RUN.runs[0], { ...DETAIL_MID_RUN.runs[1], status: "completed", endedAt: 9 }],
      runStartSeq: undefined,
      lastSeq: 13,
    });
    await settle();
    expect(socket.last("session.subscribe")).toMatchObject({ afterSeq: 13 });
    socket.answer(socket.last("session.subscribe"), { lastSeq: 13, running: false });
    await settle();
    expect(texts(store)).toEqual(["user:First", "assistant:Answer", "run-end", "user:Hi", "assistant:Hello world", "run-end"]);
  });

  it("sends a first message: creates the conversation, then confirms the message in place", async () => {
    const { store, factory } = setup();
    store.open(null);
    const created: string[] = [];
    const sending = store.send("Hi", (id) => created.push(id));
    const socket = factory.current();
    expect(texts(store)).toEqual(["user:Hi"]);
    socket.answer(socket.last("session.create"), { session: { ...SESSION, id: "s1", running: false } });
    await settle();
    expect(created).toEqual(["s1"]);
    expect(socket.last("message.send")).toMatchObject({ sessionId: "s1", content: "Hi" });
    socket.answer(socket.last("message.send"), { runId: "r2", messageId: "u2" });
    runEvents(socket, 5, 13);
    await expect(sending).resolves.toBe(true);
    expect(texts(store)).toEqual(["user:Hi", "assistant:Hello world", "run-end"]);
  });

  it("takes back a message the server refused and says why", async () => {
    const { store, factory } = setup();
    store.open(null);
    const sending = store.send("Hi");
    const socket = factory.current();
    socket.answer(socket.last("session.create"), { session: SESSION });
    await settle();
    socket.refuse(socket.last("message.send"), "busy", "A reply is still being written in this session");
    await expect(sending).resolves.toBe(false);
    expect(texts(store)).toEqual([]);
    expect(store.snapshot.problem?.message).toBe("A reply is still being written in this session");
  });

  it("keeps the sidebar in step with notices", async () => {
    const { store, factory } = setup();
    const socket = factory.current();
    await settle();
    socket.receive({ type: "notice", name: "session.created", session: { ...SESSION, id: "s2", title: "Newer", updatedAt: 5 } });
    socket.receive({ type: "notice", name: "session.updated", session: { ...SESSION, title: "Renamed", running: false } });
    expect(store.snapshot.sessions?.map((session) => session.title)).toEqual(["Newer", "Renamed"]);
    socket.receive({ type: "notice", name: "session.deleted", session: { ...SESSION, id: "s2" } });
    expect(store.snapshot.sessions?.map((session) => session.id)).toEqual(["s1"]);
  });

  it("marks the open conversation deleted when another tab deletes it", async () => {
    const { store, factory } = setup();
    store.open("s1");
    const socket = factory.current();
    socket.answer(socket.last("session.get"), { ...DETAIL_MID_RUN, runStartSeq: undefined });
    await settle();
    socket.receive({ type: "notice", name: "session.deleted", session: SESSION });
    expect(store.snapshot.current?.status).toBe("deleted");
  });

  it("shows a conversation that does not exist as missing", async () => {
    const { store, factory } = setup();
    store.open("gone");
    factory.current().refuse(factory.current().last("session.get"), "not_found", "No such session");
    await settle();
    expect(store.snapshot.current?.status).toBe("missing");
  });
});
