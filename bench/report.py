"""``python -m bench.report [FILE]``: a report's figures as a Markdown table (for the docs).

FILE defaults to docs/benchmarks.json, the published copy of the last full run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .processes import REPO
from .results import markdown_from_report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("file", nargs="?", default=str(REPO / "docs" / "benchmarks.json"))
    args = parser.parse_args(argv)
    report = json.loads(Path(args.file).read_text())
    machine = report["machine"]
    print(
        f"{report['size']} run, {machine['time']}: {machine['nproc']} cores ({machine['cpu']}), "
        f"{machine['memory_gib']} GiB, Python {machine['python']}, "
        f"load average at the end {machine['load_average']}\n"
    )
    print(markdown_from_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
