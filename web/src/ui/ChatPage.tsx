/** The chat screen: top bar, sidebar (a drawer on narrow screens), transcript and composer. */
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Api } from "../api";
import { ChatStore } from "../chat/store";
import { socketUrl } from "../routes";
import { SocketClient, type ConnectionState } from "../ws/client";
import type { User } from "../ws/protocol";
import type { Navigate } from "./App";
import { Composer } from "./Composer";
import { useChatState, useMedia } from "./hooks";
import { Sidebar } from "./Sidebar";
import { Transcript } from "./Transcript";
import { UsageNote } from "./UsageNote";
import { link } from "./App";
import { routePath } from "../routes";

const NARROW = "(max-width: 760px)";
const SIDEBAR_KEY = "portagent.sidebar";

interface ChatPageProps {
  api: Api;
  base: string;
  basePath: string;
  token: string;
  user: User;
  sessionId: string | null;
  navigate: Navigate;
  onSignOut: (reason?: string) => void;
  onUser: (user: User) => void;
}

export function ChatPage(props: ChatPageProps) {
  const { api, token } = props;
  const wsPath = useRef("/ws");
  const [demo, setDemo] = useState(false);
  /** Connection attempts refused in a row (reset by a `hello`): after a few, say so plainly. */
  const [refusals, setRefusals] = useState(0);
  const client = useMemo(() => new SocketClient({ url: () => socketUrl(props.base, token, wsPath.current) }), [props.base, token]);
  const store = useMemo(() => new ChatStore(client), [client]);
  const state = useChatState(store);
  const onSignOut = useRef(props.onSignOut);
  onSignOut.current = props.onSignOut;
  const onUser = useRef(props.onUser);
  onUser.current = props.onUser;

  useEffect(() => {
    store.attach();
    const offs = [
      client.on("hello", (hello) => {
        setRefusals(0);
        if (hello.server.demo) setDemo(true);
        onUser.current(hello.user);
      }),
      client.on("unauthorized", (reason) =>
        onSignOut.current(
          reason === "token revoked" ? "You were signed out. Please sign in again." : "Your session has expired. Please sign in again.",
        ),
      ),
      // The upgrade was refused or the server is down: if the token is no longer valid, say so.
      client.on("refused", () => {
        setRefusals((count) => count + 1);
        api.verify(token).then(
          (user) => {
            if (user === null) onSignOut.current("Your session has expired. Please sign in again.");
          },
          () => undefined,
        );
      }),
    ];
    const reconnect = () => client.reconnectNow();
    const onVisible = () => {
      if (document.visibilityState === "visible") reconnect();
    };
    addEventListener("online", reconnect);
    document.addEventListener("visibilitychange", onVisible);
    client.start();
    api.info(token).then(
      (info) => {
        wsPath.current = info.wsPath || "/ws";
        if (info.demo) setDemo(true);
      },
      () => undefined,
    );
    return () => {
      for (const off of offs) off();
      removeEventListener("online", reconnect);
      document.removeEventListener("visibilitychange", onVisible);
      store.detach();
      client.stop();
    };
  }, [client, store, api, token]);

  useEffect(() => store.open(props.sessionId), [store, props.sessionId]);

  const narrow = useMedia(NARROW);
  const [wideOpen, setWideOpen] = useState(() => readSetting(SIDEBAR_KEY) !== "closed");
  const [drawerOpen, setDrawerOpen] = useState(false);
  const sidebarOpen = narrow ? drawerOpen : wideOpen;
  const toggleSidebar = () => {
    if (narrow) {
      setDrawerOpen(!drawerOpen);
    } else {
      setWideOpen(!wideOpen);
      writeSetting(SIDEBAR_KEY, wideOpen ? "closed" : "open");
    }
  };

  // Opening the drawer moves focus into it; closing it gives focus back to its toggle.
  const toggleButton = useRef<HTMLButtonElement>(null);
  const drawerWasOpen = useRef(false);
  useEffect(() => {
    if (!narrow) return;
    if (drawerOpen) document.querySelector<HTMLElement>("#sidebar button")?.focus();
    else if (drawerWasOpen.current && document.activeElement === document.body) toggleButton.current?.focus();
    drawerWasOpen.current = drawerOpen;
  }, [narrow, drawerOpen]);

  const view = state.current;
  const running = view !== null && (view.transcript.runId !== null || view.sending);
  const cancel = useCallback(() => void store.cancel(), [store]);
  const navigate = props.navigate;
  const sendText = useCallback(
    (text: string) => store.send(text, (sessionId) => navigate({ page: "chat", sessionId }, { replace: true })),
    [store, navigate],
  );

  const openSession = useCallback(
    (sessionId: string | null) => {
      setDrawerOpen(false);
      props.navigate({ page: "chat", sessionId });
    },
    [props.navigate],
  );

  // Esc anywhere stops a running reply (or closes the drawer), unless something else takes it.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== "Escape" || event.defaultPrevented) return;
      if (document.querySelector("dialog[open]")) return;
      if (narrow && drawerOpen) {
        setDrawerOpen(false);
      } else if (running) {
        cancel();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [narrow, drawerOpen, running, cancel]);

  // A problem shows for a while, then goes.
  useEffect(() => {
    if (state.problem === null) return;
    const timer = setTimeout(() => store.dismissProblem(), 8000);
    return () => clearTimeout(timer);
  }, [state.problem, store]);

  const title =
    view?.sessionId == null
      ? "New conversation"
      : (state.sessions?.find((session) => session.id === view.sessionId)?.title ?? "");
  useEffect(() => {
    document.title = title ? `${title} · Portagent` : "Portagent";
  }, [title]);

  const userName = props.user.displayName || props.user.username;
  return (
    <div class={`chat-layout${sidebarOpen ? " sidebar-open" : ""}${narrow ? " narrow" : ""}`}>
      {demo ? (
        <div class="demo-banner" role="status">
          <strong>Demo mode</strong>: replies come from a built-in stand-in, not Claude.
          <span class="demo-tip"> Try “run: ls -la” or “think: why?”.</span>
        </div>
      ) : null}
      <header class="topbar">
        <button
          type="button"
          class="icon"
          aria-label="Toggle sidebar"
          aria-expanded={sidebarOpen ? "true" : "false"}
          aria-controls="sidebar"
          ref={toggleButton}
          onClick={toggleSidebar}
        >
          <svg viewBox="0 0 24 24" aria-hidden="true">
            <path d="M4 6h16M4 12h16M4 18h16" />
          </svg>
        </button>
        <h1 class="topbar-title">{title}</h1>
        <ConnectionIndicator state={state.connection} />
        {userName ? (
          <span class="user-name" title={props.user.email ?? props.user.username}>
            {userName}
          </span>
        ) : null}
        {props.user.isAdmin ? (
          <a
            class="topbar-link"
            href={routePath({ page: "admin" }, props.basePath)}
            onClick={link(() => props.navigate({ page: "admin" }))}
          >
            Admin
          </a>
        ) : null}
        <button type="button" class="ghost" onClick={() => props.onSignOut()}>
          Sign out
        </button>
      </header>
      {refusals >= 3 && state.connection !== "open" ? (
        <div class="connection-trouble" aria-live="polite">
          Cannot reach the chat server; still trying. Check your network, or ask the person who runs this server if it
          goes on.
        </div>
      ) : null}
      <div class="chat-body">
        <Sidebar
          sessions={state.sessions}
          currentId={view?.sessionId ?? null}
          basePath={props.basePath}
          open={sidebarOpen}
          onOpen={openSession}
          onRename={(id, newTitle) => store.rename(id, newTitle)}
          onDelete={async (id) => {
            const ok = await store.remove(id);
            if (ok && id === view?.sessionId) props.navigate({ page: "chat", sessionId: null }, { replace: true });
            return ok;
          }}
          footer={<UsageNote api={api} token={token} running={running} />}
        />
        {narrow && drawerOpen ? <div class="scrim" aria-hidden="true" onClick={() => setDrawerOpen(false)} /> : null}
        <main class="conversation">
          {state.problem !== null ? (
            <div class="problem" role="alert">
              <span>{state.problem.message}</span>
              <button type="button" class="icon" aria-label="Dismiss" onClick={() => store.dismissProblem()}>
                ×
              </button>
            </div>
          ) : null}
          {view === null || view.status === "loading" ? (
            <div class="transcript-scroll">
              <div class="transcript" role="log" aria-label="Conversation" aria-live="polite" aria-busy="true">
                <p class="placeholder">Loading conversation…</p>
              </div>
            </div>
          ) : view.status === "missing" || view.status === "deleted" ? (
            <div class="transcript-scroll">
              <div class="transcript" role="log" aria-label="Conversation" aria-live="polite">
                <div class="placeholder">
                  <p>
                    {view.status === "missing"
                      ? "This conversation does not exist, or it was deleted."
                      : "This conversation was deleted."}
                  </p>
                  <button type="button" class="primary" onClick={() => openSession(null)}>
                    Start a new conversation
                  </button>
                </div>
              </div>
            </div>
          ) : (
            <Transcript items={view.transcript.items} running={running} empty={<EmptyState demo={demo} />} onRetry={sendText} />
          )}
          <Composer
            running={running}
            disabled={view === null || view.status !== "ready"}
            conversationKey={props.sessionId ?? "new"}
            onSend={sendText}
            onStop={cancel}
          />
        </main>
      </div>
    </div>
  );
}

/** A remembered UI choice; storage may be unavailable (private modes), which is no error. */
function readSetting(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function writeSetting(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Not remembered, then.
  }
}

const CONNECTION_TEXT: Record<ConnectionState, [string, string]> = {
  open: ["connected", "Connected"],
  connecting: ["connecting", "Connecting…"],
  reconnecting: ["reconnecting", "Reconnecting…"],
  closed: ["connecting", "Offline"],
};

function ConnectionIndicator({ state }: { state: ConnectionState }) {
  const [name, text] = CONNECTION_TEXT[state];
  return (
    <span class={`connection ${name}`} data-connection={name} aria-live="polite">
      <span class="connection-dot" aria-hidden="true" />
      <span class="connection-text">{text}</span>
    </span>
  );
}

function EmptyState({ demo }: { demo: boolean }) {
  return (
    <div class="empty">
      <h2>What shall we work on?</h2>
      <p>The agent can run commands and edit files in your own workspace on the server.</p>
      {demo ? (
        <ul class="examples">
          <li>
            <code>run: ls -la</code> runs a command
          </li>
          <li>
            <code>think: what is a monad?</code> shows the model's thinking
          </li>
          <li>
            <code>run: sleep 20; echo done</code> gives you time to press Stop
          </li>
        </ul>
      ) : null}
    </div>
  );
}
