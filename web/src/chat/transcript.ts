/**
 * A conversation as the UI shows it: the stored history turned into items, and AG-UI events
 * applied to them one by one. Pure functions over immutable values: an item that changes is a
 * new object, so a view can skip the ones that did not.
 */
import { contentToText, EventType, type Event as AguiEvent } from "@ag-ui/core";
import type { HistoryMessage, RunInfo } from "../ws/protocol";
import { fromMessageUsage, fromTokenUsage, type Usage } from "./usage";

export type ToolStatus = "running" | "done" | "failed";
export type RunOutcome = "completed" | "cancelled" | "failed" | "interrupted";

export interface UserItem {
  kind: "user";
  id: string;
  text: string;
  /** Its text is still arriving in events (false once complete, or for stored messages). */
  streaming: boolean;
  /** Sent from this tab, not yet accepted by the server. */
  pending?: boolean;
}

export interface AssistantItem {
  kind: "assistant";
  id: string;
  text: string;
  streaming: boolean;
}

export interface ReasoningItem {
  kind: "reasoning";
  id: string;
  text: string;
  streaming: boolean;
}

export interface ToolItem {
  kind: "tool";
  /** The tool call's id. */
  id: string;
  name: string;
  /** The input as JSON text (complete once `argsDone`). */
  args: string;
  argsDone: boolean;
  output: string | null;
  status: ToolStatus;
  /** Times this tab saw the call start and end; null for calls it did not watch live. */
  startedAt: number | null;
  endedAt: number | null;
}

export interface RunEndItem {
  kind: "run-end";
  id: string;
  runId: string;
  outcome: RunOutcome;
  error: { code: string; message: string } | null;
  usage: Usage | null;
}

export type Item = UserItem | AssistantItem | ReasoningItem | ToolItem | RunEndItem;

export interface Transcript {
  items: readonly Item[];
  /** The run in progress, as far as the events tell. */
  runId: string | null;
}

export const emptyTranscript: Transcript = { items: [], runId: null };

/** Tool results that the server writes itself when a call could not finish. */
const UNFINISHED_RESULT = /^(Cancelled|Not run): /;

export function runEndId(runId: string): string {
  return `run-end:${runId}`;
}

/** Build the transcript of a stored history; `runs` puts errors and usage where they happened. */
export function fromHistory(messages: readonly HistoryMessage[], runs: readonly RunInfo[]): Transcript {
  const runOf = new Map<string, RunInfo>();
  const lastMessageOf = new Map<string, RunInfo>();
  for (const run of runs) {
    for (const id of run.messageIds) runOf.set(id, run);
  }
  const present = new Set(messages.map((message) => message.id));
  for (const run of runs) {
    const shown = run.messageIds.filter((id) => present.has(id));
    const last = shown[shown.length - 1];
    if (last !== undefined) lastMessageOf.set(last, run);
  }

  const items: Item[] = [];
  const tools = new Map<string, number>();
  for (const message of messages) {
    switch (message.role) {
      case "user":
        items.push({ kind: "user", id: message.id, text: contentToText(message.content), streaming: false });
        break;
      case "assistant": {
        if (message.content) {
          items.push({ kind: "assistant", id: message.id, text: message.content, streaming: false });
        }
        const running = runOf.get(message.id)?.status === "running";
        for (const call of message.toolCalls ?? []) {
          tools.set(call.id, items.length);
          items.push({
            kind: "tool",
            id: call.id,
            name: call.function.name,
            args: call.function.arguments,
            argsDone: true,
            output: null,
            status: running ? "running" : "failed",
            startedAt: null,
            endedAt: null,
          });
        }
        break;
      }
      case "tool": {
        const index = tools.get(message.toolCallId);
        const tool = index === undefined ? undefined : items[index];
        if (index !== undefined && tool?.kind === "tool") {
          const output = contentToText(message.content);
          const failed = message.error !== undefined || UNFINISHED_RESULT.test(output);
          items[index] = { ...tool, output, status: failed ? "failed" : "done" };
        }
        break;
      }
      case "reasoning":
        items.push({ kind: "reasoning", id: message.id, text: message.content, streaming: false });
        break;
      default:
        break;
    }
    const run = lastMessageOf.get(message.id);
    if (run !== undefined && run.status !== "running") items.push(storedRunEnd(run));
  }
  const running = runs.find((run) => run.status === "running");
  return { items, runId: running?.id ?? null };
}

function storedRunEnd(run: RunInfo): RunEndItem {
  const outcome: RunOutcome = run.status === "running" ? "completed" : run.status;
  return {
    kind: "run-end",
    id: runEndId(run.id),
    runId: run.id,
    outcome,
    error: run.error ?? null,
    usage: fromMessageUsage(run.usage),
  };
}

/** Timing of an event: when this tab saw it live, or null for a replayed one. */
export interface EventContext {
  now: number | null;
}

/** Apply one AG-UI event. Unknown events, and those that repeat what is shown, change nothing. */
export function applyEvent(transcript: Transcript, event: AguiEvent, context: EventContext): Transcript {
  switch (event.type) {
    case EventType.RUN_STARTED:
      return { ...transcript, runId: event.runId };
    case EventType.TEXT_MESSAGE_START:
      if (find(transcript, event.messageId) !== -1) return transcript;
      return append(
        transcript,
        event.role === "user"
          ? { kind: "user", id: event.messageId, text: "", streaming: true }
          : { kind: "assistant", id: event.messageId, text: "", streaming: true },
      );
    case EventType.TEXT_MESSAGE_CONTENT:
      return appendText(transcript, event.messageId, event.delta, "assistant");
    case EventType.TEXT_MESSAGE_END:
      return endStream(transcript, event.messageId);
    case EventType.REASONING_MESSAGE_START:
      if (find(transcript, event.messageId) !== -1) return transcript;
      return append(transcript, { kind: "reasoning", id: event.messageId, text: "", streaming: true });
    case EventType.REASONING_MESSAGE_CONTENT:
      return appendText(transcript, event.messageId, event.delta, "reasoning");
    case EventType.REASONING_MESSAGE_END:
      return endStream(transcript, event.messageId);
    case EventType.TOOL_CALL_START:
      if (find(transcript, event.toolCallId) !== -1) return transcript;
      return append(transcript, {
        kind: "tool",
        id: event.toolCallId,
        name: event.toolCallName,
        args: "",
        argsDone: false,
        output: null,
        status: "running",
        startedAt: context.now,
        endedAt: null,
      });
    case EventType.TOOL_CALL_ARGS:
      return updateTool(transcript, event.toolCallId, (tool) => ({ ...tool, args: tool.args + event.delta }));
    case EventType.TOOL_CALL_END:
      return updateTool(transcript, event.toolCallId, (tool) => ({ ...tool, argsDone: true }));
    case EventType.TOOL_CALL_RESULT:
    {
      const output = contentToText(event.content);
      return updateTool(transcript, event.toolCallId, (tool) => ({
        ...tool,
        argsDone: true,
        output,
        // The server marks a failed call with metadata {isError: true}; older servers did
        // not, and a cancelled call's text still says so.
        status: event.metadata?.isError === true || UNFINISHED_RESULT.test(output) ? "failed" : "done",
        endedAt: tool.startedAt === null ? null : context.now,
      }));
    }
    case EventType.RUN_FINISHED:
      return finishRun(transcript, {
        outcome: event.outcome?.type === "cancelled" ? "cancelled" : "completed",
        error: null,
        usage: fromTokenUsage(event.usage),
        runId: event.runId,
      });
    case EventType.RUN_ERROR:
      return finishRun(transcript, {
        outcome: event.code === "interrupted" ? "interrupted" : "failed",
        error: { code: event.code ?? "internal", message: event.message },
        usage: fromTokenUsage(event.usage),
        runId: transcript.runId,
      });
    default:
      return transcript;
  }
}

/** Show the user's message before the server confirms it. */
export function addPendingUser(transcript: Transcript, tempId: string, text: string): Transcript {
  return append(transcript, { kind: "user", id: tempId, text, streaming: false, pending: true });
}

/** The server accepted the message: give it its real id (its events then match it). */
export function confirmPendingUser(transcript: Transcript, tempId: string, messageId: string): Transcript {
  const index = find(transcript, tempId);
  const item = transcript.items[index];
  if (item?.kind !== "user") return transcript;
  if (find(transcript, messageId) !== -1) return removeItem(transcript, tempId);
  return replace(transcript, index, { kind: "user", id: messageId, text: item.text, streaming: false });
}

export function removeItem(transcript: Transcript, id: string): Transcript {
  const items = transcript.items.filter((item) => item.id !== id);
  return items.length === transcript.items.length ? transcript : { ...transcript, items };
}

/** True while a reply is being written (as far as this transcript knows). */
export function isStreaming(transcript: Transcript): boolean {
  return transcript.runId !== null;
}

function find(transcript: Transcript, id: string): number {
  const { items } = transcript;
  for (let index = items.length - 1; index >= 0; index -= 1) {
    if (items[index]?.id === id) return index;
  }
  return -1;
}

function append(transcript: Transcript, item: Item): Transcript {
  return { ...transcript, items: [...transcript.items, item] };
}

function replace(transcript: Transcript, index: number, item: Item): Transcript {
  const items = transcript.items.slice();
  items[index] = item;
  return { ...transcript, items };
}

function appendText(
  transcript: Transcript,
  id: string,
  delta: string,
  kindIfMissing: "assistant" | "reasoning",
): Transcript {
  const index = find(transcript, id);
  const item = transcript.items[index];
  if (item === undefined) {
    // A message whose start was not seen (its events were no longer kept for replay).
    return append(transcript, { kind: kindIfMissing, id, text: delta, streaming: true });
  }
  // Only a message still being streamed grows: one already complete here (stored, or sent
  // from this tab) is not written twice.
  if ((item.kind === "user" || item.kind === "assistant" || item.kind === "reasoning") && item.streaming) {
    return replace(transcript, index, { ...item, text: item.text + delta });
  }
  return transcript;
}

function endStream(transcript: Transcript, id: string): Transcript {
  const index = find(transcript, id);
  const item = transcript.items[index];
  if ((item?.kind === "user" || item?.kind === "assistant" || item?.kind === "reasoning") && item.streaming) {
    return replace(transcript, index, { ...item, streaming: false });
  }
  return transcript;
}

function updateTool(transcript: Transcript, id: string, change: (tool: ToolItem) => ToolItem): Transcript {
  const index = find(transcript, id);
  const item = transcript.items[index];
  return item?.kind === "tool" ? replace(transcript, index, change(item)) : transcript;
}

function finishRun(
  transcript: Transcript,
  end: { outcome: RunOutcome; error: RunEndItem["error"]; usage: Usage | null; runId: string | null },
): Transcript {
  const runId = end.runId ?? `unknown-${transcript.items.length}`;
  if (find(transcript, runEndId(runId)) !== -1) return { ...transcript, runId: null };
  const items: Item[] = transcript.items.map((item) => {
    if ((item.kind === "user" || item.kind === "assistant" || item.kind === "reasoning") && item.streaming) {
      return { ...item, streaming: false };
    }
    if (item.kind === "tool" && item.status === "running") return { ...item, status: "failed" };
    return item;
  });
  items.push({ kind: "run-end", id: runEndId(runId), runId, outcome: end.outcome, error: end.error, usage: end.usage });
  return { items, runId: null };
}
