import { describe, expect, it } from "vitest";
import type { AdminUsage, Invite, Usage } from "../api";
import {
  checkPassword,
  compactTokens,
  daysBetween,
  expiryText,
  formatTokens,
  inviteState,
  limitText,
  parseExpiresIn,
  parseQuota,
  parseUses,
  quotaFieldValue,
  timeUntil,
  usageLine,
  usagePercent,
  usageTable,
} from "./format";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function invite(overrides: Partial<Invite>): Invite {
  return { id: "i1", uses: 0, maxUses: 1, expiresAt: null, createdAt: 0, revoked: false, usable: true, note: null, ...overrides };
}

function usage(total: number, limit: number | null): Usage {
  return {
    today: { date: "2026-12-04", inputTokens: total, outputTokens: 0, totalTokens: total },
    days: [],
    dailyTokenLimit: limit,
    remainingTokens: limit === null ? null : Math.max(0, limit - total),
    resetsAt: 0,
    maxConcurrentRuns: null,
  };
}

describe("token counts and limits", () => {
  it("formats counts with digit groups, compactly where space is short", () => {
    expect(formatTokens(1234567)).toBe("1,234,567");
    expect(compactTokens(950)).toBe("950");
    expect(compactTokens(12_800)).toBe("12.8K");
    expect(compactTokens(1_200_000)).toBe("1.2M");
  });

  it("says No limit for null and 0", () => {
    expect(limitText(null)).toBe("No limit");
    expect(limitText(0)).toBe("No limit");
    expect(limitText(200000)).toBe("200,000");
  });
});

describe("parseQuota", () => {
  it("takes empty as the server's default and 0 as no limit", () => {
    expect(parseQuota("")).toEqual({ ok: true, value: null });
    expect(parseQuota("   ")).toEqual({ ok: true, value: null });
    expect(parseQuota("0")).toEqual({ ok: true, value: 0 });
  });

  it("reads plain numbers, digit groups and k/M", () => {
    expect(parseQuota("50000")).toEqual({ ok: true, value: 50000 });
    expect(parseQuota(" 50,000 ")).toEqual({ ok: true, value: 50000 });
    expect(parseQuota("1_000_000")).toEqual({ ok: true, value: 1000000 });
    expect(parseQuota("50k")).toEqual({ ok: true, value: 50000 });
    expect(parseQuota("1.5M")).toEqual({ ok: true, value: 1500000 });
    expect(parseQuota("2.5 k")).toEqual({ ok: true, value: 2500 });
  });

  it("refuses what is not a whole, non-negative number", () => {
    for (const bad of ["-5", "abc", "1.5", "5e3", "1,00", "10 tokens", "0x10", "1.0005k"]) {
      expect(parseQuota(bad).ok, bad).toBe(false);
    }
    expect(parseQuota("99999999999999999999")).toEqual({ ok: false, error: "That limit is too large." });
  });

  it("shows the user's own limit in the field, empty for the default", () => {
    expect(quotaFieldValue(null)).toBe("");
    expect(quotaFieldValue(0)).toBe("0");
    expect(parseQuota(quotaFieldValue(25000))).toEqual({ ok: true, value: 25000 });
  });
});

describe("checkPassword", () => {
  it("applies the server's 6-256 characters, counted as code points", () => {
    expect(checkPassword("12345")).toBe("Password must be at least 6 characters");
    expect(checkPassword("123456")).toBeNull();
    expect(checkPassword("x".repeat(256))).toBeNull();
    expect(checkPassword("x".repeat(257))).toBe("Password must be at most 256 characters");
    // Six emoji are twelve UTF-16 units but six characters.
    expect(checkPassword("😀".repeat(6))).toBeNull();
    expect(checkPassword("😀".repeat(5))).toBe("Password must be at least 6 characters");
    expect(checkPassword("abc\u0000def")).toBe("Password must not contain NUL characters");
  });
});

describe("invite fields", () => {
  it("takes 1 to 1000 uses", () => {
    expect(parseUses("1")).toEqual({ ok: true, value: 1 });
    expect(parseUses(" 1000 ")).toEqual({ ok: true, value: 1000 });
    for (const bad of ["0", "1001", "", "2.5", "-1", "ten"]) expect(parseUses(bad).ok, bad).toBe(false);
  });

  it("takes durations such as 30m, 12h, 7d, 2w, and empty for never", () => {
    expect(parseExpiresIn("")).toEqual({ ok: true, value: null });
    expect(parseExpiresIn("7d")).toEqual({ ok: true, value: "7d" });
    expect(parseExpiresIn(" 12 h ")).toEqual({ ok: true, value: "12h" });
    expect(parseExpiresIn("007w")).toEqual({ ok: true, value: "7w" });
    for (const bad of ["0d", "7", "d", "7 days", "1y", "-1d"]) expect(parseExpiresIn(bad).ok, bad).toBe(false);
  });
});

describe("invite state and expiry", () => {
  const now = 1_000 * DAY;
  it("names revoked, usable, expired and spent codes", () => {
    expect(inviteState(invite({ revoked: true, usable: false }), now)).toBe("revoked");
    expect(inviteState(invite({}), now)).toBe("usable");
    expect(inviteState(invite({ usable: false, expiresAt: now - 1 }), now)).toBe("expired");
    expect(inviteState(invite({ usable: false, uses: 1, maxUses: 1 }), now)).toBe("spent");
  });

  it("says when a code expires", () => {
    expect(expiryText(null, now)).toBe("Never");
    expect(expiryText(now + 7 * DAY, now)).toBe("in 7 days");
    expect(expiryText(now + 3 * HOUR, now)).toBe("in 3 hours");
    expect(expiryText(now + 30 * 60_000, now)).toBe("in 30 minutes");
    expect(expiryText(now - 2 * DAY, now)).toBe("2 days ago");
  });

  it("says how long until a reset", () => {
    expect(timeUntil(3 * HOUR + 12 * 60_000 + 5_000, 0)).toBe("3 h 12 min");
    expect(timeUntil(45 * 60_000, 0)).toBe("45 min");
    expect(timeUntil(30_000, 0)).toBe("under a minute");
  });
});

describe("own usage", () => {
  it("says what was used of the limit", () => {
    expect(usageLine(usage(12800, 200000))).toBe("12,800 of 200,000 tokens used today");
    expect(usageLine(usage(12800, null))).toBe("12,800 tokens used today (no daily limit)");
    expect(usagePercent(usage(50000, 200000))).toBe(25);
    expect(usagePercent(usage(300000, 200000))).toBe(100);
    expect(usagePercent(usage(300000, null))).toBe(0);
  });
});

describe("usageTable", () => {
  it("lists every day of the period, even across a month end", () => {
    expect(daysBetween("2026-11-28", "2026-12-04")).toEqual([
      "2026-11-28",
      "2026-11-29",
      "2026-11-30",
      "2026-12-01",
      "2026-12-02",
      "2026-12-03",
      "2026-12-04",
    ]);
    expect(daysBetween("2026-12-04", "2026-12-04")).toEqual(["2026-12-04"]);
  });

  it("turns rows per user and day into users × days with totals, most used first", () => {
    const answer: AdminUsage = {
      since: "2026-12-02",
      until: "2026-12-04",
      days: [
        { date: "2026-12-02", userId: "a", username: "ann", inputTokens: 90, outputTokens: 10, totalTokens: 100 },
        { date: "2026-12-04", userId: "b", username: "bob", inputTokens: 900, outputTokens: 100, totalTokens: 1000 },
        { date: "2026-12-04", userId: "a", username: "ann", inputTokens: 40, outputTokens: 10, totalTokens: 50 },
        { date: "2026-12-03", userId: "c", username: null, inputTokens: 5, outputTokens: 2, totalTokens: 7 },
        { date: "2026-11-01", userId: "a", username: "ann", inputTokens: 1, outputTokens: 1, totalTokens: 2 },
      ],
      total: { inputTokens: 1035, outputTokens: 122, totalTokens: 1157 },
    };
    const table = usageTable(answer);
    expect(table.dates).toEqual(["2026-12-02", "2026-12-03", "2026-12-04"]);
    expect(table.rows).toEqual([
      { userId: "b", username: "bob", perDay: [0, 0, 1000], total: 1000 },
      { userId: "a", username: "ann", perDay: [100, 0, 50], total: 150 },
      { userId: "c", username: "(deleted user)", perDay: [0, 7, 0], total: 7 },
    ]);
    expect(table.dayTotals).toEqual([100, 7, 1050]);
    expect(table.total).toBe(1157);
  });
});
