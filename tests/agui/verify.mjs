// Checks AG-UI event streams the way the official TypeScript client reads them.
//
// Input (stdin): a JSON array of runs, each run an array of AG-UI event objects
// (camelCase, as Portagent puts them on the wire). A flat array of events is
// accepted too and read as one run.
//
// Each run goes through the inbound pipeline of @ag-ui/client's AbstractAgent:
//   enforceEvents()   zod schema check: malformed known fields are fatal;
//                     unknown events and properties are dropped with a warning
//   transformChunks() expands *_CHUNK events into START/CONTENT/END
//   verifyEvents()    the protocol's sequencing rules (RUN_STARTED first,
//                     content only inside an open message, nothing after
//                     RUN_FINISHED, everything closed before it, ...)
// With `--verify-only`, only verifyEvents() runs.
//
// Output (stdout): a JSON array with one result per run, one result per line:
//   {"ok": true, "warnings": [...]} or {"ok": false, "stage": "...", "error": "..."}
// where `warnings` (only present when non-empty) holds what the client
// printed while reading the run, e.g. fields it stripped. Exit code 0 when
// every run is ok, 1 when some run failed, 2 when the input cannot be read.

import { enforceEvents, transformChunks, verifyEvents } from "@ag-ui/client";
import { from, lastValueFrom, toArray } from "rxjs";

const verifyOnly = process.argv.includes("--verify-only");

// The client reports deviations it tolerates through console.warn/error; collect
// them per run instead of letting them reach stdout/stderr unattributed.
let captured = [];
const capture = (...args) => {
  captured.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
};
console.warn = capture;
console.error = capture;
console.log = capture;
console.debug = capture;

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function errorMessage(err) {
  if (err instanceof Error) {
    // zod errors carry a JSON list of issues as their message; keep it as is.
    return err.message;
  }
  return String(err);
}

async function runStage(name, events, operators) {
  try {
    const out = await lastValueFrom(from(events).pipe(...operators, toArray()), {
      defaultValue: [],
    });
    return { ok: true, events: out };
  } catch (err) {
    return { ok: false, stage: name, error: errorMessage(err) };
  }
}

async function checkRun(events) {
  captured = [];
  if (!Array.isArray(events)) {
    return { ok: false, stage: "input", error: "a run must be an array of event objects" };
  }
  let result;
  if (verifyOnly) {
    result = await runStage("verifyEvents", events, [verifyEvents()]);
  } else {
    const enforced = await runStage("enforceEvents", events, [enforceEvents()]);
    result = enforced.ok
      ? await runStage("verifyEvents", enforced.events, [transformChunks(), verifyEvents()])
      : enforced;
  }
  const report = result.ok
    ? { ok: true }
    : { ok: false, stage: result.stage, error: result.error };
  if (captured.length > 0) report.warnings = captured;
  return report;
}

async function main() {
  let input;
  try {
    input = JSON.parse(await readStdin());
  } catch (err) {
    process.stderr.write(`verify.mjs: stdin is not JSON: ${errorMessage(err)}\n`);
    process.exit(2);
  }
  if (!Array.isArray(input)) {
    process.stderr.write("verify.mjs: expected a JSON array of runs (arrays of events)\n");
    process.exit(2);
  }
  const runs = input.length > 0 && input.every((e) => !Array.isArray(e)) ? [input] : input;
  const results = [];
  for (const run of runs) results.push(await checkRun(run));
  process.stdout.write(`[\n${results.map((r) => JSON.stringify(r)).join(",\n")}\n]\n`);
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}

await main();
