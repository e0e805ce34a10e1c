"""``python -m bench [scenario ...] [--quick]``: run Portagent's benchmarks and report them.

Scenarios are named (latency, relay, concurrency, idle, storm, history, startup, memory) or
numbered 1-8 as in issue 6; none means all. Each prints its table as it finishes; at the end
the raw figures go to ``bench/results/<time>.json`` and, for a full run of every scenario,
to ``docs/benchmarks.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .processes import REPO, load_average, machine
from .results import ScenarioResult, render_markdown, render_table
from .scenarios import ALIASES, SCENARIOS
from .sizes import FULL, QUICK, SIZES, Size

RESULTS_DIR = REPO / "bench" / "results"
PUBLISHED = REPO / "docs" / "benchmarks.json"


def run_scenarios(names: Sequence[str], size: Size, *, echo: bool = True) -> list[ScenarioResult]:
    """Run the named scenarios one after another; each result carries its load averages."""
    results = []
    for name in names:
        load_before = load_average()
        started = time.perf_counter()
        result = SCENARIOS[name](size)
        result.seconds = time.perf_counter() - started
        result.notes.append(
            f"load average (1 min) before/after: {load_before[0]:.2f} / {load_average()[0]:.2f}"
        )
        results.append(result)
        if echo:
            print(f"\n## {result.title}  [{result.seconds:.0f} s]")
            print(render_table([result]), flush=True)
    return results


def report(results: Sequence[ScenarioResult], size: Size, *, raw: bool = True) -> dict[str, Any]:
    """The run as JSON; ``raw`` keeps every sample (the published copy keeps the statistics)."""
    return {
        "size": size.name,
        "machine": machine(),
        "packages": package_versions(),
        "scenarios": {result.name: result.as_json(raw=raw) for result in results},
    }


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in (
        "sanic",
        "websockets",
        "anthropic",
        "pony",
        "pydantic",
        "ag-ui-protocol",
        "uvloop",
        "orjson",
        "aiohttp",
        "bcrypt",
        "httpx",
    ):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def write(data: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def resolve(names: Sequence[str]) -> list[str]:
    chosen = []
    for name in names or list(SCENARIOS):
        name = ALIASES.get(name, name)
        if name not in SCENARIOS:
            raise SystemExit(
                f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)} or 1-8"
            )
        chosen.append(name)
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenarios", nargs="*", help="names or numbers (default: all)")
    parser.add_argument("--quick", action="store_true", help="fewer samples and runs, same sizes")
    parser.add_argument("--size", choices=sorted(SIZES), help=argparse.SUPPRESS)
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    args = parser.parse_args(argv)
    size = SIZES[args.size] if args.size else (QUICK if args.quick else FULL)
    names = resolve(args.scenarios)
    print(f"Portagent benchmarks, {size.name} size: {', '.join(names)}", flush=True)
    results = run_scenarios(names, size)
    data = report(results, size)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = RESULTS_DIR / f"{stamp}-{size.name}.json"
    write(data, out)
    print(f"\n## All scenarios\n{render_table(results)}")
    if args.markdown:
        print("\n" + render_markdown(results))
    print(f"\nraw figures: {out.relative_to(REPO)}")
    if size is FULL and len(names) == len(SCENARIOS):
        published = {**data, "scenarios": report(results, size, raw=False)["scenarios"]}
        write(published, PUBLISHED)
        print(f"published: {PUBLISHED.relative_to(REPO)}")
    return 0 if all(result.passed for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
