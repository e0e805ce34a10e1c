/** One's own token usage today and the daily limit, from `GET /api/usage`: shown at the foot of the sidebar. */
import { useEffect, useState } from "preact/hooks";
import { compactTokens, formatTokens, timeUntil, usageLine } from "../admin/format";
import type { Api, Usage } from "../api";
import { useNow } from "./hooks";

const REFRESH_MS = 5 * 60_000;

/** `running` going from true to false (a reply ended) reads the usage again. */
export function UsageNote(props: { api: Api; token: string; running: boolean }) {
  const { api, token, running } = props;
  const [usage, setUsage] = useState<Usage | null>(null);
  const now = useNow(60_000);

  useEffect(() => {
    if (running) return;
    let cancelled = false;
    const read = () =>
      api.usage(token).then(
        (answer) => {
          if (!cancelled) setUsage(answer);
        },
        // Not worth a message: the note just stays as it was (or absent).
        () => undefined,
      );
    void read();
    const timer = setInterval(read, REFRESH_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [api, token, running]);

  if (usage === null) return null;
  const limit = usage.dailyTokenLimit;
  const used = usage.today.totalTokens;
  return (
    <div class="usage-note" data-usage-today={used} title={usageLine(usage)}>
      <div class="usage-note-line">
        <span>Tokens today</span>
        <span>
          {compactTokens(used)}
          {limit === null ? "" : ` / ${compactTokens(limit)}`}
        </span>
      </div>
      {limit !== null ? (
        <meter min={0} max={limit} low={limit * 0.75} high={limit * 0.9} optimum={0} value={Math.min(used, limit)} aria-label={usageLine(usage)} />
      ) : null}
      <p class="usage-note-detail">
        {limit === null
          ? "No daily limit"
          : `${formatTokens(usage.remainingTokens ?? 0)} left · resets in ${timeUntil(usage.resetsAt, now)}`}
      </p>
    </div>
  );
}
