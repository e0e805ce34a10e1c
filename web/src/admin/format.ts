/**
 * What the admin pages and the usage note show and check: token counts, limits, invite states,
 * and the admin's input (quota, password, invite fields) checked with the server's rules and
 * messages before anything is sent.
 */
import type { AdminUsage, Invite, Usage } from "../api";

const grouped = new Intl.NumberFormat("en-US");
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
const dateFormat = new Intl.DateTimeFormat("en", { year: "numeric", month: "short", day: "numeric" });
const dayFormat = new Intl.DateTimeFormat("en", { month: "short", day: "numeric", timeZone: "UTC" });

export const PASSWORD_MIN = 6;
export const PASSWORD_MAX = 256;
export const INVITE_USES_MAX = 1000;
export const NOTE_MAX = 200;

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** "12,800". */
export function formatTokens(count: number): string {
  return grouped.format(count);
}

/** "950", "12.8K", "1.2M": for narrow places. */
export function compactTokens(count: number): string {
  return compact.format(count);
}

/** A daily limit: "200,000", or "No limit" for null (none applies) and 0 (none set). */
export function limitText(limit: number | null): string {
  return limit === null || limit === 0 ? "No limit" : formatTokens(limit);
}

/** "Dec 4, 2026" in the reader's time zone (ms since the epoch). */
export function formatDate(ms: number): string {
  return dateFormat.format(new Date(ms));
}

/** "Dec 4" for a UTC day "2026-12-04". */
export function formatDay(date: string): string {
  return dayFormat.format(new Date(`${date}T00:00:00Z`));
}

/**
 * The "Daily token limit" field: empty is the server's default (null), 0 is no limit, else a
 * whole number of tokens; digit groups (`50,000`, `50 000`, `50_000`) and `k`/`M` (`50k`,
 * `1.5M`) are accepted.
 */
export function parseQuota(text: string): Checked<number | null> {
  const trimmed = text.trim();
  if (trimmed === "") return { ok: true, value: null };
  const match = /^(\d+(?:[,_ ]\d{3})*(?:\.\d+)?)\s*([kKmM]?)$/.exec(trimmed);
  if (match === null) {
    return { ok: false, error: "Enter a whole number of tokens (such as 50000 or 50k), 0 for no limit, or leave it empty." };
  }
  const number = Number((match[1] ?? "").replace(/[,_ ]/g, ""));
  const unit = (match[2] ?? "").toLowerCase();
  const value = Math.round(number * (unit === "k" ? 1_000 : unit === "m" ? 1_000_000 : 1) * 1000) / 1000;
  if (!Number.isInteger(value)) return { ok: false, error: "The limit must be a whole number of tokens." };
  if (!Number.isSafeInteger(value)) return { ok: false, error: "That limit is too large." };
  return { ok: true, value };
}

/** What the quota field shows for a user's own limit (null: the default, shown as empty). */
export function quotaFieldValue(dailyTokenLimit: number | null): string {
  return dailyTokenLimit === null ? "" : String(dailyTokenLimit);
}

/** The server's password rule, with its wording; length in characters (code points), as Python counts. */
export function checkPassword(password: string): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN) return `Password must be at least ${PASSWORD_MIN} characters`;
  if (length > PASSWORD_MAX) return `Password must be at most ${PASSWORD_MAX} characters`;
  if (password.includes("\u0000")) return "Password must not contain NUL characters";
  return null;
}

/** The "Uses" field of a new invite code: a whole number from 1 to 1000. */
export function parseUses(text: string): Checked<number> {
  const trimmed = text.trim();
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isInteger(value) || value < 1 || value > INVITE_USES_MAX) {
    return { ok: false, error: `Uses must be a whole number from 1 to ${INVITE_USES_MAX}.` };
  }
  return { ok: true, value };
}

/** The "Expires in" field: empty is never, else a duration such as 30m, 12h, 7d or 2w. */
export function parseExpiresIn(text: string): Checked<string | null> {
  const trimmed = text.trim();
  if (trimmed === "") return { ok: true, value: null };
  const match = /^(\d+)\s*([smhdw])$/.exec(trimmed);
  if (match === null || Number(match[1]) === 0) {
    return { ok: false, error: "Expires in must be a duration such as 30m, 12h, 7d or 2w (or empty for never)." };
  }
  return { ok: true, value: `${Number(match[1])}${match[2]}` };
}

export type InviteState = "usable" | "revoked" | "spent" | "expired";

/** Why an invite code can or cannot be used (the server's `usable` is the final word). */
export function inviteState(invite: Invite, now: number): InviteState {
  if (invite.revoked) return "revoked";
  if (invite.usable) return "usable";
  if (invite.expiresAt !== null && invite.expiresAt <= now) return "expired";
  return "spent";
}

const relative = new Intl.RelativeTimeFormat("en", { numeric: "always" });

/** "Never", "in 7 days", "in 3 hours", "2 days ago". */
export function expiryText(expiresAt: number | null, now: number): string {
  if (expiresAt === null) return "Never";
  const minutes = Math.round((expiresAt - now) / 60_000);
  const size = Math.abs(minutes);
  if (size < 60) return relative.format(minutes, "minute");
  if (size < 48 * 60) return relative.format(Math.round(minutes / 60), "hour");
  return relative.format(Math.round(minutes / (24 * 60)), "day");
}

/** "3 h 12 min", "45 min", "under a minute". */
export function timeUntil(then: number, now: number): string {
  const minutes = Math.floor((then - now) / 60_000);
  if (minutes < 1) return "under a minute";
  const hours = Math.floor(minutes / 60);
  if (hours === 0) return `${minutes} min`;
  return `${hours} h ${minutes % 60} min`;
}

/** One line about one's own usage today: "12,800 of 200,000 tokens used today". */
export function usageLine(usage: Usage): string {
  const used = formatTokens(usage.today.totalTokens);
  if (usage.dailyTokenLimit === null) return `${used} tokens used today (no daily limit)`;
  return `${used} of ${formatTokens(usage.dailyTokenLimit)} tokens used today`;
}

/** How much of the limit is spent, 0-100 (0 when there is no limit). */
export function usagePercent(usage: Usage): number {
  const limit = usage.dailyTokenLimit;
  if (limit === null || limit <= 0) return 0;
  return Math.min(100, Math.round((usage.today.totalTokens / limit) * 100));
}

export interface UsageRow {
  userId: string;
  username: string;
  /** Total tokens on each day of `UsageTable.dates`. */
  perDay: number[];
  total: number;
}

export interface UsageTable {
  /** Every UTC day from `since` to `until`, oldest first. */
  dates: string[];
  /** Users with any usage, most first. */
  rows: UsageRow[];
  dayTotals: number[];
  total: number;
}

/** Every UTC day from `since` to `until` (YYYY-MM-DD), oldest first; at most 366. */
export function daysBetween(since: string, until: string): string[] {
  const dates: string[] = [];
  const end = Date.parse(`${until}T00:00:00Z`);
  for (let day = Date.parse(`${since}T00:00:00Z`); day <= end && dates.length < 366; day += 86_400_000) {
    dates.push(new Date(day).toISOString().slice(0, 10));
  }
  return dates;
}

/** The admin usage answer (one row per user and day) as a users × days table with totals. */
export function usageTable(usage: AdminUsage): UsageTable {
  const dates = daysBetween(usage.since, usage.until);
  const index = new Map(dates.map((date, position) => [date, position]));
  const rows = new Map<string, UsageRow>();
  for (const day of usage.days) {
    const position = index.get(day.date);
    if (position === undefined) continue;
    let row = rows.get(day.userId);
    if (row === undefined) {
      row = { userId: day.userId, username: day.username ?? "(deleted user)", perDay: dates.map(() => 0), total: 0 };
      rows.set(day.userId, row);
    }
    row.perDay[position] = (row.perDay[position] ?? 0) + day.totalTokens;
    row.total += day.totalTokens;
  }
  const sorted = [...rows.values()].sort((a, b) => b.total - a.total || a.username.localeCompare(b.username));
  const dayTotals = dates.map((_, position) => sorted.reduce((sum, row) => sum + (row.perDay[position] ?? 0), 0));
  return { dates, rows: sorted, dayTotals, total: dayTotals.reduce((sum, value) => sum + value, 0) };
}
