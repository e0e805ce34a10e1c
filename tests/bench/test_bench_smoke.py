"""Every benchmark scenario runs once at a tiny size, through the code ``python -m bench`` runs.

These check that each scenario works against a real server and reports figures of the right
shape; they assert nothing about timing (that is what the benchmarks themselves are for).
"""

from __future__ import annotations

import json
import math

import pytest

from bench.__main__ import report, resolve, run_scenarios
from bench.scenarios import SCENARIOS
from bench.sizes import TINY


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_runs_and_reports(name: str) -> None:
    [result] = run_scenarios([name], TINY, echo=False)

    assert result.metrics, "a scenario reports at least one metric"
    targeted = [metric for metric in result.metrics if metric.targets]
    assert targeted, "every scenario has a target from issue 6"
    for metric in result.metrics:
        assert metric.samples, f"{metric.name} has no samples"
        assert all(math.isfinite(value) for value in metric.samples), metric.name
        assert metric.passed in (True, False, None)
    data = json.loads(json.dumps(report([result], TINY)))
    scenario = data["scenarios"][result.name]
    assert scenario["runs"] == TINY.runs
    assert {metric["name"] for metric in scenario["metrics"]} == {m.name for m in result.metrics}
    assert data["machine"]["nproc"] >= 1


def test_scenarios_are_named_and_numbered() -> None:
    assert resolve(["1", "relay", "8"]) == ["latency", "relay", "memory"]
    assert resolve([]) == list(SCENARIOS)
    with pytest.raises(SystemExit):
        resolve(["nine"])
