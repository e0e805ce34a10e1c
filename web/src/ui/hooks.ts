import { useEffect, useState } from "preact/hooks";
import type { ChatState, ChatStore } from "../chat/store";

/** The store's state, re-rendering on each change. */
export function useChatState(store: ChatStore): ChatState {
  const [state, setState] = useState(store.snapshot);
  useEffect(() => {
    setState(store.snapshot);
    return store.listen(setState);
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
