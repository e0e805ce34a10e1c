"""What a scenario reports: metrics with their samples and targets, as a table and as JSON."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .stats import median, percentile

Stat = Literal["median", "p99", "min", "max"]
_COMPARE: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge}
_SHOWN_OP = {"<=": "≤", ">=": "≥"}


@dataclass(frozen=True)
class Target:
    """One bound from issue 6 on one statistic of a metric, e.g. p99 ≤ 10 ms."""

    stat: Stat
    op: Literal["<=", ">="]
    limit: float

    def met(self, value: float | None) -> bool:
        return value is not None and _COMPARE[self.op](value, self.limit)

    def describe(self, unit: str) -> str:
        name = "p50" if self.stat == "median" else self.stat
        return f"{name} {_SHOWN_OP[self.op]} {self.limit:g} {unit}".rstrip()


@dataclass
class Metric:
    """A named series of samples (pooled over runs) and the targets it must meet.

    A figure measured once per run (a throughput, a memory size) is a series with one sample
    per run; a distribution (latencies, gaps) has many per run.
    """

    name: str
    unit: str
    samples: list[float]
    targets: Sequence[Target] = ()
    note: str = ""

    def stat(self, which: Stat) -> float | None:
        if which == "median":
            return median(self.samples)
        if which == "p99":
            return percentile(self.samples, 99)
        if not self.samples:
            return None
        return min(self.samples) if which == "min" else max(self.samples)

    @property
    def passed(self) -> bool | None:
        """None when the metric is informative only (no target)."""
        if not self.targets:
            return None
        return all(target.met(self.stat(target.stat)) for target in self.targets)

    @property
    def target_text(self) -> str:
        return ", ".join(target.describe(self.unit) for target in self.targets)

    def summary(self, *, raw: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "unit": self.unit,
            "n": len(self.samples),
            "median": _round(self.stat("median")),
            "p99": _round(self.stat("p99")),
            "min": _round(self.stat("min")),
            "max": _round(self.stat("max")),
            "target": self.target_text or None,
            "passed": self.passed,
        }
        if self.note:
            data["note"] = self.note
        if raw:
            data["samples"] = [_round(value) for value in self.samples]
        return data


@dataclass
class ScenarioResult:
    """Everything one scenario measured over all its runs."""

    name: str
    title: str
    runs: int
    params: dict[str, Any]
    metrics: list[Metric] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(metric.passed is not False for metric in self.metrics)

    def metric(self, name: str) -> Metric:
        return next(metric for metric in self.metrics if metric.name == name)

    def as_json(self, *, raw: bool = True) -> dict[str, Any]:
        return {
            "title": self.title,
            "runs": self.runs,
            "params": self.params,
            "seconds": round(self.seconds, 1),
            "passed": self.passed,
            "notes": self.notes,
            "metrics": [metric.summary(raw=raw) for metric in self.metrics],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _shown(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.1f}"


def _verdict(passed: bool | None) -> str:
    return {True: "pass", False: "FAIL", None: ""}[passed]


def table_rows(results: Sequence[ScenarioResult]) -> list[list[str]]:
    rows = [["scenario", "metric", "median", "p99", "unit", "target", "result"]]
    for result in results:
        for metric in result.metrics:
            rows.append(
                [
                    result.name,
                    metric.name,
                    _shown(metric.stat("median")),
                    _shown(metric.stat("p99")) if len(metric.samples) > 1 else "",
                    metric.unit,
                    metric.target_text,
                    _verdict(metric.passed),
                ]
            )
    return rows


def render_table(results: Sequence[ScenarioResult]) -> str:
    """A plain-text table for the terminal."""
    rows = table_rows(results)
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def render_markdown(results: Sequence[ScenarioResult]) -> str:
    """The same table in Markdown, for docs/benchmarks.md."""
    rows = table_rows(results)
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines.extend("| " + " | ".join(row) + " |" for row in rows[1:])
    return "\n".join(lines)


def markdown_from_report(report: dict[str, Any]) -> str:
    """The Markdown table of a report written by ``python -m bench`` (its JSON, read back)."""
    lines = [
        "| scenario | metric | median | p99 | n | unit | target | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, scenario in report["scenarios"].items():
        for metric in scenario["metrics"]:
            p99 = _shown(metric["p99"]) if metric["n"] > 1 else ""
            cells = [
                name,
                metric["name"],
                _shown(metric["median"]),
                p99,
                str(metric["n"]),
                metric["unit"],
                metric["target"] or "",
                {True: "pass", False: "**missed**", None: ""}[metric["passed"]],
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
