/**
 * The shapes of Portagent's `/ws` protocol, version 1 (docs/protocol.md). AG-UI's own types
 * come from `@ag-ui/core`; only Portagent's envelope around them is declared here.
 */
import type { Event as AguiEvent, Message as AguiMessage } from "@ag-ui/core";

export const PROTOCOL_VERSION = 1;

/** The user as `/api/auth/verify` and the `hello` frame describe them. */
export interface User {
  userId: string;
  username: string;
  email: string | null;
  containerId: string;
  displayName: string | null;
  avatar: string | null;
  createdAt: number;
  /** Whether this user may use the admin API and pages (absent from older servers). */
  isAdmin?: boolean;
}

export interface SessionInfo {
  id: string;
  title: string;
  createdAt: number;
  updatedAt: number;
  running: boolean;
  messageCount: number;
}

/** Token counts as stored with a message or a run; `inputTokens` excludes the cache. */
export interface MessageUsage {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

export type HistoryMessage = AguiMessage & { usage?: MessageUsage };

export type RunStatus = "running" | "completed" | "cancelled" | "failed" | "interrupted";

export interface RunInfo {
  id: string;
  status: RunStatus;
  error?: { code: string; message: string };
  usage: MessageUsage;
  startedAt: number;
  endedAt: number | null;
  messageIds: string[];
}

export interface SessionDetail {
  session: SessionInfo;
  messages: HistoryMessage[];
  runs: RunInfo[];
  lastSeq: number;
  runStartSeq?: number;
}

export interface SubscribeData {
  lastSeq: number;
  running: boolean;
  replay?: "unavailable";
}

/** Every command with the fields it takes and the `data` of its successful result. */
export interface Commands {
  "session.create": { params: { title?: string; systemPrompt?: string }; data: { session: SessionInfo } };
  "session.list": { params: Record<string, never>; data: { sessions: SessionInfo[] } };
  "session.get": { params: { sessionId: string }; data: SessionDetail };
  "session.rename": { params: { sessionId: string; title: string }; data: { session: SessionInfo } };
  "session.delete": { params: { sessionId: string }; data: Record<string, never> };
  "session.subscribe": { params: { sessionId: string; afterSeq?: number }; data: SubscribeData };
  "session.unsubscribe": { params: { sessionId: string }; data: Record<string, never> };
  "message.send": { params: { sessionId: string; content: string }; data: { runId: string; messageId: string } };
  "run.cancel": { params: { sessionId: string }; data: Record<string, never> };
  ping: { params: Record<string, never>; data: Record<string, never> };
}

export type CommandType = keyof Commands;
export type Params<K extends CommandType> = Commands[K]["params"];
export type Data<K extends CommandType> = Commands[K]["data"];

export interface HelloFrame {
  type: "hello";
  protocol: number;
  user: User;
  server: { version: string; demo?: boolean };
}

export interface ResultFrame {
  type: "result";
  id: string | null;
  ok: boolean;
  data?: unknown;
  error?: { code: string; message: string };
}

export interface EventFrame {
  type: "event";
  sessionId: string;
  seq: number;
  event: AguiEvent;
}

export type NoticeName = "session.created" | "session.updated" | "session.deleted";

export interface NoticeFrame {
  type: "notice";
  name: NoticeName;
  session: SessionInfo;
}

export type ServerFrame = HelloFrame | ResultFrame | EventFrame | NoticeFrame;

/** Parse one text frame; null for anything that is not a frame of this protocol. */
export function parseFrame(text: string): ServerFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const type = (value as { type?: unknown }).type;
  if (type === "hello" || type === "result" || type === "event" || type === "notice") {
    return value as ServerFrame;
  }
  return null;
}

/** Close codes the server uses (docs/protocol.md §1). */
export const CLOSE_UNAUTHORIZED = 4401;
