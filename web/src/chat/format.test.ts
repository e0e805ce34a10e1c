import { describe, expect, it } from "vitest";
import { errorHint, formatDuration, prettyArgs, relativeTime, toolSummary } from "./format";

describe("format", () => {
  const now = Date.UTC(2026, 11, 4, 12, 0, 0);

  it("says how long ago, coarser with age", () => {
    expect(relativeTime(now - 10_000, now)).toBe("just now");
    expect(relativeTime(now - 5 * 60_000, now)).toBe("5 min. ago");
    expect(relativeTime(now - 3 * 3_600_000, now)).toBe("3 hr. ago");
    expect(relativeTime(now - 24 * 3_600_000, now)).toBe("yesterday");
    expect(relativeTime(Date.UTC(2026, 2, 4, 12), now)).toBe("Mar 4");
    expect(relativeTime(Date.UTC(2025, 2, 4, 12), now)).toBe("Mar 4, 2025");
  });

  it("formats durations", () => {
    expect(formatDuration(420)).toBe("0.4 s");
    expect(formatDuration(12_400)).toBe("12 s");
    expect(formatDuration(125_000)).toBe("2 min 5 s");
  });

  it("summarises and pretty-prints tool input", () => {
    expect(toolSummary('{"command": "ls -la\\necho hi"}')).toBe("ls -la");
    expect(toolSummary('{"command": "view", "path": "/a.txt"}')).toBe("view /a.txt");
    expect(toolSummary('{"comm')).toBe("");
    expect(prettyArgs('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(prettyArgs('{"a":')).toBe('{"a":');
  });

  it("tells what to do after an error, unless the server's message already does", () => {
    expect(errorHint("max_turns")).toMatch(/continue/);
    expect(errorHint("interrupted")).toBe("");
    expect(errorHint("something_new")).toMatch(/again/);
  });
});
