/** The message box: Enter sends, Shift+Enter adds a line, Esc or the Stop button stops a run. */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";

const MAX_CHARS = 100_000;
const DRAFT_KEY = "portagent.draft.";

/** Unsent text survives a reload of the tab (per conversation), not a closed tab. */
function loadDraft(key: string): string {
  try {
    return sessionStorage.getItem(DRAFT_KEY + key) ?? "";
  } catch {
    return "";
  }
}

function saveDraft(key: string, text: string): void {
  try {
    if (text) sessionStorage.setItem(DRAFT_KEY + key, text);
    else sessionStorage.removeItem(DRAFT_KEY + key);
  } catch {
    // Not kept, then.
  }
}

export function Composer(props: {
  running: boolean;
  disabled: boolean;
  /** Changes when another conversation opens: the box is cleared and focused. */
  conversationKey: string;
  onSend: (text: string) => Promise<boolean>;
  onStop: () => void;
}) {
  const [text, setText] = useState(() => loadDraft(props.conversationKey));
  const area = useRef<HTMLTextAreaElement>(null);
  const key = useRef(props.conversationKey);

  useEffect(() => {
    if (key.current !== props.conversationKey) {
      // A new conversation created by its first message keeps what is being typed.
      const created = key.current === "new";
      key.current = props.conversationKey;
      setText((current) => (created ? current : loadDraft(props.conversationKey)));
    }
    area.current?.focus();
  }, [props.conversationKey]);

  useEffect(() => saveDraft(key.current, text), [text]);

  // Grow with the text, up to a limit set in CSS (max-height), then scroll.
  useLayoutEffect(() => {
    const element = area.current;
    if (element === null) return;
    element.style.height = "auto";
    element.style.height = `${element.scrollHeight}px`;
  }, [text]);

  const tooLong = text.length > MAX_CHARS;
  const canSend = text.trim() !== "" && !tooLong && !props.disabled && !props.running;

  const send = async () => {
    if (!canSend) return;
    const sent = text;
    setText("");
    const ok = await props.onSend(sent);
    // Give the text back when it did not go, unless something new was typed meanwhile.
    if (!ok) setText((current) => (current === "" ? sent : current));
  };

  const onKeyDown = (event: KeyboardEvent) => {
    // During IME composition Enter picks a candidate: never send then (keyCode 229 for Safari).
    if (event.isComposing || event.keyCode === 229) return;
    if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      void send();
    } else if (event.key === "Escape" && props.running) {
      event.preventDefault();
      props.onStop();
    }
  };

  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        void send();
      }}
    >
      <label for="composer-input" class="visually-hidden">
        Message
      </label>
      <div class="composer-box">
        <textarea
          id="composer-input"
          ref={area}
          rows={1}
          value={text}
          placeholder={props.running ? "Working… press Esc to stop" : "Message Portagent"}
          aria-describedby="composer-help"
          onInput={(event) => setText((event.target as HTMLTextAreaElement).value)}
          onKeyDown={onKeyDown}
        />
        {props.running ? (
          <button type="button" class="send stop" onClick={props.onStop} title="Stop (Esc)">
            <svg viewBox="0 0 24 24" aria-hidden="true">
              <rect x="6" y="6" width="12" height="12" rx="2" />
            </svg>
            <span class="visually-hidden">Stop</span>
          </button>
        ) : (
          <button type="submit" class="send" disabled={!canSend} title="Send (Enter)">
            <svg viewBox="0 0 24 24" aria-hidden="true">
              <path d="M12 19V5M5 12l7-7 7 7" />
            </svg>
            <span class="visually-hidden">Send</span>
          </button>
        )}
      </div>
      <p id="composer-help" class={`composer-help${tooLong ? " warn" : ""}`}>
        {tooLong
          ? `Too long: ${text.length.toLocaleString()} of ${MAX_CHARS.toLocaleString()} characters.`
          : "Enter to send, Shift+Enter for a new line."}
      </p>
    </form>
  );
}
