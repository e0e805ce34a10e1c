/** Small pieces of text the chat shows: times, durations, tool inputs, what to do after an error. */

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto", style: "short" });
const dateFormat = new Intl.DateTimeFormat("en", { month: "short", day: "numeric" });
const yearFormat = new Intl.DateTimeFormat("en", { year: "numeric", month: "short", day: "numeric" });

/** "just now", "5 min. ago", "3 hr. ago", "yesterday", "Mar 4" (times in ms). */
export function relativeTime(then: number, now: number): string {
  const seconds = Math.round((now - then) / 1000);
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return relative.format(-minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (hours < 24) return relative.format(-hours, "hour");
  const days = Math.round(hours / 24);
  if (days < 7) return relative.format(-days, "day");
  const date = new Date(then);
  return date.getFullYear() === new Date(now).getFullYear() ? dateFormat.format(date) : yearFormat.format(date);
}

/** "0.4 s", "12 s", "2 min 5 s". */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/** A tool call's input, pretty-printed when it is complete JSON. */
export function prettyArgs(args: string): string {
  try {
    return JSON.stringify(JSON.parse(args), null, 2);
  } catch {
    return args;
  }
}

/** One line that says what a tool call does (its command or path), or "" when unknown. */
export function toolSummary(args: string): string {
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch {
    return "";
  }
  if (typeof value !== "object" || value === null) return "";
  const input = value as Record<string, unknown>;
  const parts = [input.command, input.path].filter((part): part is string => typeof part === "string");
  return parts.join(" ").split("\n")[0] ?? "";
}

const HINTS: Record<string, string> = {
  provider_rate_limited: "The model provider is rate-limiting this server. Wait a minute, then send your message again.",
  provider_overloaded: "The model provider is overloaded right now. Try again in a few minutes.",
  provider_error: "The model provider answered with an error. Try again; if it keeps happening, tell the server's operator.",
  provider_auth: "The server's API key was refused. Tell the person who runs this server to check its key.",
  provider_unreachable: "The model provider could not be reached. Check back in a moment and send your message again.",
  max_turns: "The agent reached its limit of steps for one reply. Send a message such as “continue” to let it go on.",
};

/** What the user can do after a run failed with `code`; "" when the server's message says it already. */
export function errorHint(code: string): string {
  if (code === "interrupted") return "";
  return HINTS[code] ?? "Send your message again; if it keeps failing, tell the server's operator.";
}
