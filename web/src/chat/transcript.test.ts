import { type Event as AguiEvent, EventType } from "@ag-ui/core";
import { describe, expect, it } from "vitest";
import type { HistoryMessage, RunInfo } from "../ws/protocol";
import {
  addPendingUser,
  applyEvent,
  confirmPendingUser,
  emptyTranscript,
  fromHistory,
  type Item,
  type Transcript,
} from "./transcript";

function apply(events: AguiEvent[], start: Transcript = emptyTranscript, now: number | null = 100): Transcript {
  return events.reduce((transcript, event) => applyEvent(transcript, event, { now }), start);
}

function kinds(items: readonly Item[]): string[] {
  return items.map((item) => item.kind);
}

const RUN_START: AguiEvent = { type: EventType.RUN_STARTED, threadId: "s1", runId: "r1" };
const USER: AguiEvent[] = [
  { type: EventType.TEXT_MESSAGE_START, messageId: "u1", role: "user" },
  { type: EventType.TEXT_MESSAGE_CONTENT, messageId: "u1", delta: "list files" },
  { type: EventType.TEXT_MESSAGE_END, messageId: "u1" },
];
const TOOL: AguiEvent[] = [
  { type: EventType.TOOL_CALL_START, toolCallId: "t1", toolCallName: "bash", parentMessageId: "a1" },
  { type: EventType.TOOL_CALL_ARGS, toolCallId: "t1", delta: '{"command": ' },
  { type: EventType.TOOL_CALL_ARGS, toolCallId: "t1", delta: '"ls"}' },
  { type: EventType.TOOL_CALL_END, toolCallId: "t1" },
];

describe("applyEvent", () => {
  it("streams assistant text delta by delta, then ends it", () => {
    const streaming = apply([
      RUN_START,
      ...USER,
      { type: EventType.TEXT_MESSAGE_START, messageId: "a1", role: "assistant" },
      { type: EventType.TEXT_MESSAGE_CONTENT, messageId: "a1", delta: "Hel" },
      { type: EventType.TEXT_MESSAGE_CONTENT, messageId: "a1", delta: "lo" },
    ]);
    expect(streaming.items).toMatchObject([
      { kind: "user", text: "list files", streaming: false },
      { kind: "assistant", text: "Hello", streaming: true },
    ]);
    expect(streaming.runId).toBe("r1");
    const done = apply(
      [
        { type: EventType.TEXT_MESSAGE_END, messageId: "a1" },
        {
          type: EventType.RUN_FINISHED,
          threadId: "s1",
          runId: "r1",
          outcome: { type: "success" },
          usage: [{ provider: "anthropic", model: "m", inputTokens: 1200, outputTokens: 30, cachedInputTokens: 1000 }],
        } as AguiEvent,
      ],
      streaming,
    );
    expect(done.items[1]).toMatchObject({ kind: "assistant", text: "Hello", streaming: false });
    expect(done.items[2]).toMatchObject({ kind: "run-end", outcome: "completed", usage: { input: 1200, output: 30, cached: 1000 } });
    expect(done.runId).toBeNull();
  });

  it("builds a tool card from its pieces, with status and duration", () => {
    const running = apply([RUN_START, ...USER, ...TOOL], emptyTranscript, 1000);
    expect(running.items[1]).toMatchObject({
      kind: "tool",
      name: "bash",
      args: '{"command": "ls"}',
      argsDone: true,
      status: "running",
      startedAt: 1000,
      output: null,
    });
    const done = apply(
      [{ type: EventType.TOOL_CALL_RESULT, messageId: "m2", toolCallId: "t1", content: "a\nb", role: "tool" }],
      running,
      3500,
    );
    expect(done.items[1]).toMatchObject({ status: "done", output: "a\nb", startedAt: 1000, endedAt: 3500 });
  });

  it("shows a tool call the server marks as an error as failed while it streams", () => {
    const running = apply([RUN_START, ...USER, ...TOOL], emptyTranscript, 1000);
    const failed = apply(
      [
        {
          type: EventType.TOOL_CALL_RESULT,
          messageId: "m2",
          toolCallId: "t1",
          content: "bash: nosuchcommand: command not found",
          role: "tool",
          metadata: { isError: true },
        },
      ],
      running,
      1400,
    );
    expect(failed.items[1]).toMatchObject({ kind: "tool", status: "failed", endedAt: 1400 });
  });

  it("marks a tool call the run stopped before it finished as failed", () => {
    const cancelled = apply([
      RUN_START,
      ...USER,
      ...TOOL,
      {
        type: EventType.TOOL_CALL_RESULT,
        messageId: "m2",
        toolCallId: "t1",
        content: "Cancelled: the run was stopped before this tool call finished.",
        role: "tool",
      },
      { type: EventType.RUN_FINISHED, threadId: "s1", runId: "r1", outcome: { type: "cancelled" } } as AguiEvent,
    ]);
    expect(cancelled.items[1]).toMatchObject({ kind: "tool", status: "failed" });
    expect(cancelled.items[2]).toMatchObject({ kind: "run-end", outcome: "cancelled", error: null });
    expect(cancelled.runId).toBeNull();
  });

  it("collects reasoning in its own item", () => {
    const thought = apply([
      RUN_START,
      { type: EventType.REASONING_START, messageId: "r9" },
      { type: EventType.REASONING_MESSAGE_START, messageId: "r9", role: "reasoning" },
      { type: EventType.REASONING_MESSAGE_CONTENT, messageId: "r9", delta: "Let me " },
      { type: EventType.REASONING_MESSAGE_CONTENT, messageId: "r9", delta: "think." },
      { type: EventType.REASONING_MESSAGE_END, messageId: "r9" },
      { type: EventType.REASONING_END, messageId: "r9" },
    ]);
    expect(thought.items).toMatchObject([{ kind: "reasoning", text: "Let me think.", streaming: false }]);
  });

  it("ends a failed run with its error, closing what was still open", () => {
    const failed = apply([
      RUN_START,
      ...USER,
      { type: EventType.TEXT_MESSAGE_START, messageId: "a1", role: "assistant" },
      { type: EventType.TEXT_MESSAGE_CONTENT, messageId: "a1", delta: "Partial" },
      { type: EventType.RUN_ERROR, message: "The provider is overloaded", code: "provider_overloaded" },
    ]);
    expect(failed.items[1]).toMatchObject({ kind: "assistant", text: "Partial", streaming: false });
    expect(failed.items[2]).toMatchObject({
      kind: "run-end",
      runId: "r1",
      outcome: "failed",
      error: { code: "provider_overloaded", message: "The provider is overloaded" },
    });
    const interrupted = apply([RUN_START, { type: EventType.RUN_ERROR, message: "Server stopped", code: "interrupted" }]);
    expect(interrupted.items[0]).toMatchObject({ outcome: "interrupted" });
  });

  it("shows text whose start it never saw (replay unavailable)", () => {
    const joined = apply([{ type: EventType.TEXT_MESSAGE_CONTENT, messageId: "a1", delta: "…rest" }]);
    expect(joined.items).toMatchObject([{ kind: "assistant", text: "…rest", streaming: true }]);
  });

  it("does not repeat a message already shown", () => {
    const once = apply([RUN_START, ...USER]);
    expect(apply([...USER], once)).toEqual(once);
    const ended = apply([{ type: EventType.RUN_FINISHED, threadId: "s1", runId: "r1" } as AguiEvent], once);
    expect(apply([{ type: EventType.RUN_FINISHED, threadId: "s1", runId: "r1" } as AguiEvent], ended).items).toHaveLength(2);
  });

  it("matches this tab's own message to its events by id, without doubling its text", () => {
    const pending = addPendingUser(emptyTranscript, "tmp", "list files");
    const confirmed = confirmPendingUser(pending, "tmp", "u1");
    expect(confirmed.items).toMatchObject([{ id: "u1", kind: "user", text: "list files" }]);
    const replayed = apply([RUN_START, ...USER], confirmed);
    expect(replayed.items).toMatchObject([{ id: "u1", text: "list files" }]);
    expect(replayed.items).toHaveLength(1);
  });
});

describe("fromHistory", () => {
  const messages: HistoryMessage[] = [
    { id: "u1", role: "user", content: "list files" },
    { id: "rs", role: "reasoning", content: "hmm" },
    {
      id: "a1",
      role: "assistant",
      content: "Running `ls`.",
      toolCalls: [{ id: "t1", type: "function", function: { name: "bash", arguments: '{"command":"ls"}' } }],
    },
    { id: "m1", role: "tool", content: "a.txt", toolCallId: "t1" },
    { id: "a2", role: "assistant", content: "Done." },
    { id: "u2", role: "user", content: "again" },
  ];
  const runs: RunInfo[] = [
    {
      id: "r1",
      status: "completed",
      usage: { inputTokens: 10, outputTokens: 20, cacheReadTokens: 100, cacheWriteTokens: 5 },
      startedAt: 1,
      endedAt: 2,
      messageIds: ["u1", "rs", "a1", "m1", "a2"],
    },
    {
      id: "r2",
      status: "failed",
      error: { code: "provider_error", message: "Bad gateway" },
      usage: {},
      startedAt: 3,
      endedAt: 4,
      messageIds: ["u2"],
    },
  ];

  it("places each run's usage and error after its last message", () => {
    const transcript = fromHistory(messages, runs);
    expect(kinds(transcript.items)).toEqual(["user", "reasoning", "assistant", "tool", "assistant", "run-end", "user", "run-end"]);
    expect(transcript.items[3]).toMatchObject({ kind: "tool", status: "done", output: "a.txt", name: "bash" });
    expect(transcript.items[5]).toMatchObject({ outcome: "completed", usage: { input: 115, output: 20, cached: 100 } });
    expect(transcript.items[7]).toMatchObject({ outcome: "failed", error: { code: "provider_error" }, usage: null });
    expect(transcript.runId).toBeNull();
  });

  it("shows a tool call with an error result, or none at all, as failed", () => {
    const failed = fromHistory(
      [
        {
          id: "a1",
          role: "assistant",
          content: "",
          toolCalls: [
            { id: "t1", type: "function", function: { name: "bash", arguments: "{}" } },
            { id: "t2", type: "function", function: { name: "bash", arguments: "{}" } },
          ],
        },
        { id: "m1", role: "tool", content: "exit 1", toolCallId: "t1", error: "exit 1" },
      ],
      [],
    );
    expect(failed.items).toMatchObject([
      { kind: "tool", id: "t1", status: "failed", output: "exit 1" },
      { kind: "tool", id: "t2", status: "failed", output: null },
    ]);
  });
});
