/** The conversation: messages, reasoning, tool cards, errors and usage, as they stream. */
import { type ComponentChildren, createContext } from "preact";
import { memo } from "preact/compat";
import { useContext, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { errorHint, formatDuration, prettyArgs, toolSummary } from "../chat/format";
import { renderMarkdown } from "../chat/markdown";
import type { AssistantItem, Item, ReasoningItem, RunEndItem, ToolItem, UserItem } from "../chat/transcript";
import { formatTokens } from "../chat/usage";
import { useNow } from "./hooks";

/** Sends a message again (offered after the last reply failed); null when not possible. */
const RetryContext = createContext<{ runEndId: string | null; retry: () => void }>({ runEndId: null, retry: () => {} });

/** The text of the user message that started the last run, when that run failed. */
function retryable(items: readonly Item[]): { runEndId: string; text: string } | null {
  const last = items[items.length - 1];
  if (last?.kind !== "run-end" || last.error === null) return null;
  for (let index = items.length - 2; index >= 0; index -= 1) {
    const item = items[index];
    if (item?.kind === "user") return { runEndId: last.id, text: item.text };
  }
  return null;
}

export function Transcript(props: {
  items: readonly Item[];
  running: boolean;
  empty: ComponentChildren;
  onRetry: (text: string) => void;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const [away, setAway] = useState(false);

  const onScroll = () => {
    const element = scroller.current;
    if (element === null) return;
    const atEnd = element.scrollHeight - element.scrollTop - element.clientHeight < 80;
    stick.current = atEnd;
    setAway(!atEnd);
  };

  const last = props.items[props.items.length - 1];
  // Sending a message brings the end of the conversation into view.
  const justSent = last?.kind === "user" && last.pending === true;
  useLayoutEffect(() => {
    const element = scroller.current;
    if (element === null) return;
    if (justSent) {
      stick.current = true;
      setAway(false);
    }
    if (stick.current) element.scrollTop = element.scrollHeight;
  });

  // Between visible steps (the model thinking before its first words), show that work goes on.
  const busyItem =
    last !== undefined &&
    ((last.kind === "tool" && last.status === "running") ||
      ((last.kind === "assistant" || last.kind === "reasoning") && last.streaming));
  const waiting = props.running && !busyItem;

  const again = props.running ? null : retryable(props.items);
  const replies = useMemo(() => replyTexts(props.items), [props.items]);
  const retry = useMemo(
    () => ({ runEndId: again?.runEndId ?? null, retry: () => again && props.onRetry(again.text) }),
    [again?.runEndId, again?.text, props.onRetry],
  );

  return (
    <RetryContext.Provider value={retry}>
      <div class="transcript-scroll" ref={scroller} onScroll={onScroll} onClick={onCopyClick}>
        <div class="transcript" role="log" aria-label="Conversation" aria-live="polite">
          {props.items.length === 0 && !props.running ? props.empty : null}
          {props.items.map((item) => (
            <ItemView key={item.id} item={item} reply={replies.get(item.id) ?? ""} />
          ))}
          {waiting ? (
            <div class="working">
              <span class="visually-hidden">Working…</span>
              <span class="dot" />
              <span class="dot" />
              <span class="dot" />
            </div>
          ) : null}
        </div>
        {away ? (
          <button
            type="button"
            class="jump"
            onClick={() => {
              stick.current = true;
              setAway(false);
              scroller.current?.scrollTo({ top: scroller.current.scrollHeight, behavior: "smooth" });
            }}
          >
            Jump to latest ↓
          </button>
        ) : null}
      </div>
    </RetryContext.Provider>
  );
}

const ItemView = memo(function ItemView({ item, reply }: { item: Item; reply: string }) {
  switch (item.kind) {
    case "user":
      return <UserMessage item={item} />;
    case "assistant":
      return <AssistantMessage item={item} />;
    case "reasoning":
      return <Reasoning item={item} />;
    case "tool":
      return <ToolCard item={item} />;
    case "run-end":
      return <RunEnd item={item} reply={reply} />;
  }
});

function UserMessage({ item }: { item: UserItem }) {
  return (
    <div class="msg user" data-role="user" data-pending={item.pending ? "true" : undefined}>
      <div class="bubble">{item.text}</div>
    </div>
  );
}

function AssistantMessage({ item }: { item: AssistantItem }) {
  const html = useMemo(() => renderMarkdown(item.text), [item.text]);
  return (
    <div class="msg assistant" data-role="assistant" data-streaming={item.streaming ? "true" : "false"}>
      <div class={`markdown${item.streaming ? " streaming" : ""}`} dangerouslySetInnerHTML={{ __html: html }} />
      {item.streaming && item.text === "" ? <span class="cursor" aria-hidden="true" /> : null}
    </div>
  );
}

function CopyReply({ text }: { text: string }) {
  const [copied, setCopied] = useState(false);
  const copy = () => {
    void copyText(text).then((ok) => {
      if (!ok) return;
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    });
  };
  return (
    <button type="button" class="small" onClick={copy} aria-label="Copy reply as Markdown">
      {copied ? "Copied" : "Copy"}
    </button>
  );
}

/** Per run end, the text of the reply it ends (its assistant messages since the user's). */
function replyTexts(items: readonly Item[]): Map<string, string> {
  const texts = new Map<string, string>();
  let parts: string[] = [];
  for (const item of items) {
    if (item.kind === "user") parts = [];
    else if (item.kind === "assistant" && item.text.trim() !== "") parts.push(item.text);
    else if (item.kind === "run-end") {
      texts.set(item.id, parts.join("\n\n"));
      parts = [];
    }
  }
  return texts;
}

function Reasoning({ item }: { item: ReasoningItem }) {
  return (
    <details class="reasoning" data-role="reasoning" data-streaming={item.streaming ? "true" : "false"}>
      <summary>{item.streaming ? "Thinking…" : "Thought process"}</summary>
      <div class="reasoning-text">{item.text}</div>
    </details>
  );
}

const STATUS_TEXT = { running: "Running", done: "Done", failed: "Failed" } as const;

function ToolCard({ item }: { item: ToolItem }) {
  const running = item.status === "running";
  const [userOpen, setUserOpen] = useState<boolean | null>(null);
  const open = userOpen ?? running;
  const now = useNow(500, running && item.startedAt !== null);
  const duration =
    item.startedAt === null ? null : (item.endedAt ?? (running ? now : item.startedAt)) - item.startedAt;
  const summary = useMemo(() => toolSummary(item.args), [item.args]);
  const input = useMemo(() => prettyArgs(item.args), [item.args]);
  return (
    <details
      class={`tool ${item.status}`}
      data-role="tool"
      data-tool-status={item.status}
      open={open}
      onToggle={(event) => {
        const isOpen = (event.currentTarget as HTMLDetailsElement).open;
        if (isOpen !== open) setUserOpen(isOpen);
      }}
    >
      <summary>
        <span class="tool-icon" aria-hidden="true">
          {item.name === "bash" ? "$" : "⚙"}
        </span>
        <span class="tool-name">{item.name}</span>
        {summary ? <code class="tool-brief">{summary}</code> : <span class="tool-brief" />}
        <span class={`tool-status ${item.status}`}>
          {running ? <span class="spinner" aria-hidden="true" /> : null}
          {item.status === "failed" && item.output?.startsWith("Cancelled:") ? "Stopped" : STATUS_TEXT[item.status]}
        </span>
        {duration !== null && duration >= 0 ? <span class="tool-time">{formatDuration(duration)}</span> : null}
      </summary>
      <div class="tool-body">
        <div class="tool-label">Input</div>
        <pre class="tool-input">{input || " "}</pre>
        <div class="tool-label">Output</div>
        {item.output === null ? (
          <p class="tool-pending">{running ? "Waiting for output…" : "No output."}</p>
        ) : (
          <pre class="tool-output" tabIndex={0}>
            {item.output || "(no output)"}
          </pre>
        )}
      </div>
    </details>
  );
}

function RunEnd({ item, reply }: { item: RunEndItem; reply: string }) {
  const usage = item.usage;
  const retry = useContext(RetryContext);
  return (
    <div class="run-end">
      {item.error !== null ? (
        <div class="msg error" data-role="error">
          <div class="error-title">
            <span aria-hidden="true">⚠</span> {item.outcome === "interrupted" ? "Reply interrupted" : "The reply failed"}{" "}
            <code class="error-code">{item.error.code}</code>
          </div>
          <p>{item.error.message}</p>
          {errorHint(item.error.code) ? <p class="error-hint">{errorHint(item.error.code)}</p> : null}
          {retry.runEndId === item.id ? (
            <button type="button" class="small retry" onClick={retry.retry}>
              Send again
            </button>
          ) : null}
        </div>
      ) : null}
      {item.outcome === "cancelled" ? <div class="stopped">Stopped</div> : null}
      {usage !== null || reply !== "" ? (
        <div class="reply-footer">
          {reply !== "" ? <CopyReply text={reply} /> : null}
          {usage !== null ? (
            <span
              class="usage"
              data-usage
              title={`${usage.input.toLocaleString()} input tokens (${usage.cached.toLocaleString()} from cache), ${usage.output.toLocaleString()} output tokens`}
            >
              {formatTokens(usage.input)} in · {formatTokens(usage.output)} out
              {usage.cached > 0 ? ` · ${formatTokens(usage.cached)} cached` : ""}
            </span>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

/** Copy buttons of code blocks (rendered as HTML, so wired by delegation). */
function onCopyClick(event: MouseEvent): void {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>("[data-copy]");
  const code = button?.closest(".code-block")?.querySelector("code");
  if (!button || !code) return;
  void copyText(code.textContent ?? "").then((ok) => {
    if (!ok) return;
    button.textContent = "Copied";
    setTimeout(() => {
      button.textContent = "Copy";
    }, 1500);
  });
}

/** Put text on the clipboard; the old way where the Clipboard API is missing (plain http). */
async function copyText(text: string): Promise<boolean> {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Permission refused: fall through.
    }
  }
  return fallbackCopy(text);
}

function fallbackCopy(text: string): boolean {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}
