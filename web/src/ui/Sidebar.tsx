/** The list of conversations: open, filter, rename in place, delete with a confirmation. */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { relativeTime } from "../chat/format";
import { routePath } from "../routes";
import type { SessionInfo } from "../ws/protocol";
import { link } from "./App";
import { useNow } from "./hooks";

interface SidebarProps {
  sessions: SessionInfo[] | null;
  currentId: string | null;
  basePath: string;
  open: boolean;
  onOpen: (sessionId: string | null) => void;
  onRename: (sessionId: string, title: string) => Promise<boolean>;
  onDelete: (sessionId: string) => Promise<boolean>;
  /** Shown at the bottom of the sidebar (one's own usage). */
  footer?: ComponentChildren;
}

export function Sidebar(props: SidebarProps) {
  const [filter, setFilter] = useState("");
  const [editing, setEditing] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<SessionInfo | null>(null);
  const now = useNow(30_000);
  const needle = filter.trim().toLowerCase();
  const shown = (props.sessions ?? []).filter((session) => session.title.toLowerCase().includes(needle));

  return (
    <nav id="sidebar" class="sidebar" aria-label="Conversations" data-open={props.open ? "true" : "false"} inert={!props.open}>
      <button type="button" class="primary wide new-chat" onClick={() => props.onOpen(null)}>
        <svg viewBox="0 0 24 24" aria-hidden="true">
          <path d="M12 5v14M5 12h14" />
        </svg>
        New conversation
      </button>
      <div class="filter">
        <label for="conversation-filter" class="visually-hidden">
          Filter conversations
        </label>
        <input
          id="conversation-filter"
          type="search"
          placeholder="Filter conversations"
          value={filter}
          onInput={(event) => setFilter((event.target as HTMLInputElement).value)}
        />
      </div>
      {props.sessions === null ? (
        <p class="sidebar-note">Loading…</p>
      ) : shown.length === 0 ? (
        <p class="sidebar-note">{needle ? "No conversation matches." : "No conversations yet."}</p>
      ) : (
        <ul class="session-list">
          {shown.map((session) => (
            <li key={session.id} class={session.id === props.currentId ? "current" : undefined}>
              {editing === session.id ? (
                <RenameInput
                  title={session.title}
                  onDone={async (title) => {
                    if (title !== null && title !== session.title) await props.onRename(session.id, title);
                    setEditing(null);
                  }}
                />
              ) : (
                <SessionLink session={session} now={now} current={session.id === props.currentId} {...props} />
              )}
              {editing === session.id ? null : (
                <div class="item-actions">
                  <button
                    type="button"
                    class="icon"
                    aria-label={`Rename ${session.title}`}
                    title="Rename"
                    onClick={() => setEditing(session.id)}
                  >
                    <svg viewBox="0 0 24 24" aria-hidden="true">
                      <path d="M4 20h4L19 9l-4-4L4 16v4zM14 6l4 4" />
                    </svg>
                  </button>
                  <button
                    type="button"
                    class="icon"
                    aria-label={`Delete ${session.title}`}
                    title="Delete"
                    onClick={() => setDeleting(session)}
                  >
                    <svg viewBox="0 0 24 24" aria-hidden="true">
                      <path d="M5 7h14M10 7V4h4v3M7 7l1 13h8l1-13" />
                    </svg>
                  </button>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      {props.footer ? <div class="sidebar-footer">{props.footer}</div> : null}
      {deleting !== null ? (
        <ConfirmDelete
          session={deleting}
          onClose={async (confirmed) => {
            if (confirmed) await props.onDelete(deleting.id);
            setDeleting(null);
          }}
        />
      ) : null}
    </nav>
  );
}

function SessionLink(props: SidebarProps & { session: SessionInfo; now: number; current: boolean }) {
  const { session } = props;
  return (
    <a
      href={routePath({ page: "chat", sessionId: session.id }, props.basePath)}
      aria-current={props.current ? "page" : undefined}
      title={session.title}
      onClick={link(() => props.onOpen(session.id))}
    >
      <span class="session-title">{session.title}</span>
      <span class="session-meta" aria-hidden="true">
        {session.running ? <span class="running-dot" title="Running" /> : null}
        {session.running ? "Running · " : ""}
        {relativeTime(session.updatedAt, props.now)}
      </span>
    </a>
  );
}

function RenameInput(props: { title: string; onDone: (title: string | null) => void }) {
  const [value, setValue] = useState(props.title);
  const input = useRef<HTMLInputElement>(null);
  const finished = useRef(false);
  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, []);
  const finish = (title: string | null) => {
    if (finished.current) return;
    finished.current = true;
    props.onDone(title);
  };
  return (
    <input
      ref={input}
      class="rename"
      aria-label="Conversation title"
      maxLength={200}
      value={value}
      onInput={(event) => setValue((event.target as HTMLInputElement).value)}
      onKeyDown={(event) => {
        if (event.key === "Enter" && !event.isComposing) {
          event.preventDefault();
          const title = value.trim();
          if (title === "") {
            finish(null);
          } else {
            finish(title);
          }
        } else if (event.key === "Escape") {
          event.preventDefault();
          event.stopPropagation();
          finish(null);
        }
      }}
      onBlur={() => finish(null)}
    />
  );
}

function ConfirmDelete(props: { session: SessionInfo; onClose: (confirmed: boolean) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const element = dialog.current;
    if (element !== null && !element.open) element.showModal();
  }, []);
  return (
    <dialog
      ref={dialog}
      class="confirm"
      aria-labelledby="delete-title"
      aria-describedby="delete-text"
      onCancel={(event) => {
        event.preventDefault();
        props.onClose(false);
      }}
    >
      <h2 id="delete-title">Delete conversation?</h2>
      <p id="delete-text">
        “{props.session.title}” and all its messages will be deleted. This cannot be undone. Files in your workspace
        stay.
      </p>
      <div class="dialog-actions">
        <button type="button" autofocus onClick={() => props.onClose(false)}>
          Cancel
        </button>
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            props.onClose(true);
          }}
        >
          Delete
        </button>
      </div>
    </dialog>
  );
}
