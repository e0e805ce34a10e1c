/**
 * The chat's state and its rules, free of any UI framework: the user's conversations (kept
 * current by the server's notices), the open conversation's transcript (history, then live
 * events with no gap and no duplicate, across reconnections), and the commands the UI sends.
 */
import { CommandError, CONNECTION_LOST, type ConnectionState, type SocketClient } from "../ws/client";
import type { EventFrame, NoticeFrame, SessionDetail, SessionInfo, SubscribeData } from "../ws/protocol";
import {
  addPendingUser,
  applyEvent,
  confirmPendingUser,
  emptyTranscript,
  fromHistory,
  removeItem,
  type Transcript,
} from "./transcript";

export type ViewStatus = "loading" | "ready" | "missing" | "deleted";

export interface SessionView {
  /** null for a new conversation that is created with its first message. */
  sessionId: string | null;
  status: ViewStatus;
  transcript: Transcript;
  /** A message of this tab is on its way and not yet accepted. */
  sending: boolean;
}

export interface ChatState {
  connection: ConnectionState;
  /** null until the first list arrives. */
  sessions: SessionInfo[] | null;
  current: SessionView | null;
  /** The last failure worth telling the user about (a command refused, a load failed). */
  problem: { id: number; message: string } | null;
}

/** How the open conversation's events are taken in. */
interface Intake {
  /** The `seq` of the last event applied; later ones only. */
  lastSeq: number;
  /** False while a load or resume is under way: its subscribe result opens the gate. */
  open: boolean;
  /** Events up to this `seq` are a replay (no live timing). */
  replayUntil: number;
  /** The transcript holds exactly the events up to `lastSeq`: a reconnection can resume. */
  consistent: boolean;
}

const CLOSED_INTAKE: Intake = { lastSeq: 0, open: false, replayUntil: 0, consistent: false };

const NEW_VIEW: SessionView = { sessionId: null, status: "ready", transcript: emptyTranscript, sending: false };

export class ChatStore {
  private state: ChatState = { connection: "connecting", sessions: null, current: null, problem: null };
  private readonly listeners = new Set<(state: ChatState) => void>();
  private intake: Intake = { ...CLOSED_INTAKE };
  /** Bumped whenever the open conversation changes or is reloaded; stale work checks it. */
  private generation = 0;
  private problemCounter = 0;
  private pendingCounter = 0;
  private readonly unsubscribers: (() => void)[] = [];

  constructor(
    private readonly client: SocketClient,
    private readonly now: () => number = Date.now,
  ) {}

  get snapshot(): ChatState {
    return this.state;
  }

  listen(listener: (state: ChatState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Follow the client's connection; call once, before `client.start()`. */
  attach(): void {
    this.unsubscribers.push(
      this.client.on("state", (connection) => this.update({ connection })),
      this.client.on("hello", (_hello, { reconnected }) => this.onHello(reconnected)),
      this.client.on("event", (frame) => this.onEvent(frame)),
      this.client.on("notice", (frame) => this.onNotice(frame)),
    );
  }

  detach(): void {
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
  }

  /** Show a conversation (null: a new one, created by its first message). */
  open(sessionId: string | null): void {
    const current = this.state.current;
    if (current !== null && current.sessionId === sessionId && current.status !== "missing") return;
    if (current?.sessionId && current.status === "ready") {
      this.client.request("session.unsubscribe", { sessionId: current.sessionId }).catch(() => undefined);
    }
    this.generation += 1;
    this.intake = { ...CLOSED_INTAKE };
    if (sessionId === null) {
      this.update({ current: NEW_VIEW });
      return;
    }
    this.update({ current: { sessionId, status: "loading", transcript: emptyTranscript, sending: false } });
    void this.load(sessionId);
  }

  /** Send a message in the open conversation (creating it first if new); false if it failed. */
  async send(text: string, onCreated?: (sessionId: string) => void): Promise<boolean> {
    const view = this.state.current;
    if (view === null || view.sending || view.status !== "ready") return false;
    const tempId = `pending-${++this.pendingCounter}`;
    let generation = this.generation;
    this.setView({ ...view, sending: true, transcript: addPendingUser(view.transcript, tempId, text) });
    let sessionId = view.sessionId;
    try {
      if (sessionId === null) {
        const { session } = await this.client.request("session.create", {});
        if (generation !== this.generation) return false;
        sessionId = session.id;
        this.upsertSession(session);
        this.intake = { lastSeq: 0, open: true, replayUntil: 0, consistent: true };
        this.setView({ ...this.view(), sessionId });
        onCreated?.(sessionId);
        generation = this.generation;
      }
      await this.client.request(
        "message.send",
        { sessionId, content: text },
        {
          onResult: ({ messageId }) => {
            if (generation !== this.generation) return;
            const current = this.view();
            this.setView({ ...current, sending: false, transcript: confirmPendingUser(current.transcript, tempId, messageId) });
          },
        },
      );
      return true;
    } catch (error) {
      if (generation === this.generation) {
        const current = this.view();
        this.setView({ ...current, sending: false, transcript: removeItem(current.transcript, tempId) });
      }
      if (error instanceof CommandError && error.code === CONNECTION_LOST) {
        // It may have arrived: if so, the resumed stream shows it.
        this.report(new Error("The connection was lost while sending. If your message does not appear, send it again."));
      } else {
        this.report(error);
      }
      return false;
    }
  }

  /** Stop the open conversation's run. */
  async cancel(): Promise<void> {
    const sessionId = this.state.current?.sessionId;
    if (!sessionId) return;
    try {
      await this.client.request("run.cancel", { sessionId });
    } catch (error) {
      this.report(error);
    }
  }

  async rename(sessionId: string, title: string): Promise<boolean> {
    try {
      const { session } = await this.client.request("session.rename", { sessionId, title });
      this.upsertSession(session);
      return true;
    } catch (error) {
      this.report(error);
      return false;
    }
  }

  async remove(sessionId: string): Promise<boolean> {
    try {
      await this.client.request("session.delete", { sessionId });
      this.dropSession(sessionId);
      return true;
    } catch (error) {
      this.report(error);
      return false;
    }
  }

  async refreshList(): Promise<void> {
    try {
      const { sessions } = await this.client.request("session.list", {});
      this.update({ sessions: sortSessions(sessions) });
    } catch (error) {
      if (!(error instanceof CommandError && error.code === CONNECTION_LOST)) this.report(error);
    }
  }

  dismissProblem(): void {
    this.update({ problem: null });
  }

  /** Load history, then subscribe from the right `seq` (docs/protocol.md §7). */
  private async load(sessionId: string): Promise<void> {
    const generation = ++this.generation;
    this.intake = { ...CLOSED_INTAKE };
    let detail: SessionDetail;
    try {
      detail = await this.client.request("session.get", { sessionId });
    } catch (error) {
      this.loadFailed(error, generation);
      return;
    }
    if (generation !== this.generation) return;
    const running = detail.runStartSeq === undefined ? undefined : detail.runs.find((run) => run.status === "running");
    let transcript: Transcript;
    let afterSeq: number;
    if (detail.runStartSeq !== undefined) {
      // The running run is replayed from its start: leave out what it has written so far.
      const inRun = new Set(running?.messageIds ?? []);
      transcript = fromHistory(
        detail.messages.filter((message) => !inRun.has(message.id)),
        detail.runs.filter((run) => run !== running),
      );
      afterSeq = detail.runStartSeq - 1;
    } else {
      transcript = fromHistory(detail.messages, detail.runs);
      afterSeq = detail.lastSeq;
    }
    this.intake = { lastSeq: afterSeq, open: false, replayUntil: 0, consistent: true };
    this.upsertSession(detail.session);
    this.setView({ sessionId, status: "ready", transcript, sending: false });
    try {
      await this.client.request(
        "session.subscribe",
        { sessionId, afterSeq },
        {
          onResult: (data) => {
            if (generation !== this.generation) return;
            if (data.replay === "unavailable") {
              // Nothing will be replayed: show everything stored, then what comes live.
              this.setView({ ...this.view(), transcript: fromHistory(detail.messages, detail.runs) });
              this.intake = { lastSeq: data.lastSeq, open: true, replayUntil: 0, consistent: true };
              return;
            }
            this.intake = { lastSeq: afterSeq, open: true, replayUntil: data.lastSeq, consistent: true };
          },
        },
      );
    } catch (error) {
      this.loadFailed(error, generation);
    }
  }

  private loadFailed(error: unknown, generation: number): void {
    if (generation !== this.generation) return;
    if (error instanceof CommandError && error.code === "not_found") {
      this.setView({ ...this.view(), status: "missing" });
    } else if (!(error instanceof CommandError && error.code === CONNECTION_LOST)) {
      this.report(error);
    }
    // A lost connection: the next `hello` loads again.
  }

  private onHello(reconnected: boolean): void {
    void this.refreshList();
    const view = this.state.current;
    // On the first connection, commands sent before it are still on their way.
    if (!reconnected || !view?.sessionId) return;
    if (view.status !== "loading" && view.status !== "ready") return;
    if (this.intake.consistent) void this.resume(view.sessionId);
    else void this.load(view.sessionId);
  }

  /** After a reconnection: subscribe from the last `seq` applied (docs/protocol.md §8). */
  private async resume(sessionId: string): Promise<void> {
    const generation = ++this.generation;
    const afterSeq = this.intake.lastSeq;
    this.intake = { ...this.intake, open: false };
    try {
      await this.client.request(
        "session.subscribe",
        { sessionId, afterSeq },
        {
          onResult: (data: SubscribeData) => {
            if (generation !== this.generation) return;
            if (data.replay === "unavailable") {
              void this.load(sessionId);
              return;
            }
            this.intake = { lastSeq: afterSeq, open: true, replayUntil: data.lastSeq, consistent: true };
          },
        },
      );
    } catch (error) {
      this.loadFailed(error, generation);
    }
  }

  private onEvent(frame: EventFrame): void {
    const view = this.state.current;
    if (view?.sessionId !== frame.sessionId || !this.intake.open) return;
    if (frame.seq <= this.intake.lastSeq) return;
    this.intake.lastSeq = frame.seq;
    const now = frame.seq <= this.intake.replayUntil ? null : this.now();
    const transcript = applyEvent(view.transcript, frame.event, { now });
    if (transcript !== view.transcript) this.setView({ ...view, transcript });
  }

  private onNotice(frame: NoticeFrame): void {
    if (frame.name === "session.deleted") {
      this.dropSession(frame.session.id);
    } else {
      this.upsertSession(frame.session);
    }
  }

  private upsertSession(session: SessionInfo): void {
    const sessions = this.state.sessions ?? [];
    const others = sessions.filter((item) => item.id !== session.id);
    this.update({ sessions: sortSessions([...others, session]) });
  }

  private dropSession(sessionId: string): void {
    if (this.state.sessions !== null) {
      this.update({ sessions: this.state.sessions.filter((item) => item.id !== sessionId) });
    }
    const view = this.state.current;
    if (view?.sessionId === sessionId) {
      this.generation += 1;
      this.intake = { ...CLOSED_INTAKE };
      this.setView({ ...view, status: "deleted", sending: false });
    }
  }

  private report(error: unknown): void {
    const message = error instanceof Error ? error.message : "Something went wrong";
    this.update({ problem: { id: ++this.problemCounter, message } });
  }

  private view(): SessionView {
    return this.state.current ?? NEW_VIEW;
  }

  private setView(current: SessionView): void {
    this.update({ current });
  }

  private update(change: Partial<ChatState>): void {
    this.state = { ...this.state, ...change };
    for (const listener of this.listeners) listener(this.state);
  }
}

export function sortSessions(sessions: SessionInfo[]): SessionInfo[] {
  return [...sessions].sort((a, b) => b.updatedAt - a.updatedAt);
}
