import type { TokenUsage } from "@ag-ui/core";
import type { MessageUsage } from "../ws/protocol";

/** Token counts as the UI shows them: every prompt token, of which `cached` came from cache. */
export interface Usage {
  input: number;
  output: number;
  cached: number;
}

/** A stored run's usage (`inputTokens` there leaves out the cached part); null when empty. */
export function fromMessageUsage(usage: MessageUsage | undefined): Usage | null {
  if (usage === undefined) return null;
  const cached = (usage.cacheReadTokens ?? 0) + (usage.cacheWriteTokens ?? 0);
  const input = (usage.inputTokens ?? 0) + cached;
  const output = usage.outputTokens ?? 0;
  return input || output ? { input, output, cached: usage.cacheReadTokens ?? 0 } : null;
}

/** `RUN_FINISHED`/`RUN_ERROR` usage, AG-UI's list of `TokenUsage`, summed; null when empty. */
export function fromTokenUsage(entries: readonly TokenUsage[] | undefined): Usage | null {
  if (!entries?.length) return null;
  const total = { input: 0, output: 0, cached: 0 };
  for (const entry of entries) {
    total.input += entry.inputTokens ?? 0;
    total.output += entry.outputTokens ?? 0;
    total.cached += entry.cachedInputTokens ?? 0;
  }
  return total.input || total.output ? total : null;
}

const compact = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });

export function formatTokens(count: number): string {
  return count < 1000 ? String(count) : compact.format(count);
}
