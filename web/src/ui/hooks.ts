import { useEffect, useState } from "preact/hooks";
import type { ChatState, ChatStore } from "../chat/store";

/**
 * The store's state. Changes are rendered at most once per animation frame: a fast stream
 * delivers many events per frame, and each render parses the growing reply's Markdown.
 */
export function useChatState(store: ChatStore): ChatState {
  const [state, setState] = useState(store.snapshot);
  useEffect(() => {
    let frame: number | null = null;
    const flush = () => {
      frame = null;
      setState(store.snapshot);
    };
    setState(store.snapshot);
    const stop = store.listen(() => {
      if (frame === null) frame = requestAnimationFrame(flush);
    });
    return () => {
      stop();
      if (frame !== null) cancelAnimationFrame(frame);
    };
  }, [store]);
  return state;
}

/** The current time, refreshed every `intervalMs` while `active`. */
export function useNow(intervalMs: number, active = true): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs, active]);
  return now;
}

/** Whether a media query matches, following changes. */
export function useMedia(query: string): boolean {
  const [matches, setMatches] = useState(() => matchMedia(query).matches);
  useEffect(() => {
    const list = matchMedia(query);
    const onChange = () => setMatches(list.matches);
    onChange();
    list.addEventListener("change", onChange);
    return () => list.removeEventListener("change", onChange);
  }, [query]);
  return matches;
}
