"""Pure pieces of the engine as tables: slot sharing, the retry policy, the cost estimate."""

from __future__ import annotations

import pytest

from eobatch.domain import cost
from eobatch.engine.estimate import CostInputs, estimate
from eobatch.engine.execution import Attempt, resolve_task, run_task
from eobatch.engine.fairness import share_slots
from eobatch.engine.retry import RetryPolicy
from eobatch.errors import TileFailure


@pytest.mark.parametrize(
    "accounts,in_flight,limit,free,start,expected",
    [
        pytest.param(["a", "b"], {}, 10, 4, 0, {"a": 2, "b": 2}, id="even-split"),
        pytest.param(["a", "b"], {}, 10, 3, 1, {"a": 1, "b": 2}, id="odd-slot-goes-to-the-turn"),
        pytest.param(["a", "b"], {"a": 9}, 10, 4, 0, {"a": 1, "b": 3}, id="per-account-cap"),
        pytest.param(["a", "b"], {"a": 10, "b": 10}, 10, 4, 0, {"a": 0, "b": 0}, id="all-capped"),
        pytest.param(["a"], {}, 2, 8, 0, {"a": 2}, id="one-account-capped"),
        pytest.param([], {}, 2, 8, 0, {}, id="nobody-waiting"),
    ],
)
def test_share_slots(accounts, in_flight, limit, free, start, expected):
    assert share_slots(accounts, in_flight, limit, free, start) == expected


@pytest.mark.parametrize(
    "policy,attempts,wait",
    [
        pytest.param(RetryPolicy(backoff_s=2.0), 1, 2.0, id="first-retry-waits-base"),
        pytest.param(RetryPolicy(backoff_s=2.0), 3, 8.0, id="2*2**2"),
        pytest.param(RetryPolicy(backoff_s=2.0, cap_s=5.0), 3, 5.0, id="capped"),
        pytest.param(RetryPolicy(backoff_s=0.0), 2, 0.0, id="no-backoff"),
    ],
)
def test_retry_backoff(policy, attempts, wait):
    assert policy.backoff(attempts) == wait


def _fails(payload):
    raise TileFailure(f"no scenes for {payload}", retryable=False)


def _crashes(payload):
    raise ZeroDivisionError("division by zero")


def test_run_task_reports_instead_of_raising():
    assert run_task(len, "abc").result == 3
    failed = run_task(_fails, "T1")
    assert (failed.ok, failed.error, failed.retryable) == (False, "no scenes for T1", False)
    crashed = run_task(_crashes, None)
    assert (crashed.ok, crashed.error, crashed.retryable) == (False, "ZeroDivisionError: division by zero", True)
    assert resolve_task("tests.engine.tasks.tile_task").__name__ == "tile_task"
    assert isinstance(run_task("os.path.basename", "/a/b"), Attempt)
    with pytest.raises(ValueError, match="dotted path"):
        resolve_task("tile_task")


def test_estimate_simple_mosaicking_uses_one_sample():
    inputs = CostInputs(
        bands=("B04", "B08", "dataMask"), float32=True, fusion=1.0, mosaicking="SIMPLE", estimated_samples=1
    )
    figures = estimate([(512, 512), (50, 50)], inputs, [4, 0])
    # 512x512: 1 (area) * 2/3 (bands, dataMask not counted) * 2 (FLOAT32) = 4/3 PU; 50x50: area 0.01 -> 0.01333
    assert figures.value_estimate == pytest.approx(4 / 3 + 0.01 * 2 / 3 * 2)
    # discount: 512x512 >= 10,000 px -> /3; 50x50 = 2,500 px -> full price
    assert figures.tile_pu == pytest.approx([4 / 9, 0.01 * 2 / 3 * 2])
    assert figures.cost_estimate == {
        "low": 100.0,
        "high": 100.0,
        "expected": 100.0,
        "scenes_per_tile": {"min": 0, "max": 4},
    }


def test_estimate_orbit_mosaicking_counts_scenes_found():
    inputs = CostInputs(
        bands=("B02", "B03", "B04"), float32=False, fusion=1.0, mosaicking="ORBIT", estimated_samples=10
    )
    sizes = [(2048, 2048)] * 30  # 16 area units per tile
    figures = estimate(sizes, inputs, [2] * 10 + [5] * 20)
    assert figures.value_estimate == pytest.approx(30 * 16 * 10)  # Sentinel Hub rule: 10 samples, no discount
    assert figures.cost_estimate["low"] == pytest.approx(30 * 16 * 2 / 3)
    assert figures.cost_estimate["high"] == pytest.approx(30 * 16 * 5 / 3)
    assert figures.cost_estimate["expected"] == pytest.approx((10 * 16 * 2 + 20 * 16 * 5) / 3)
    assert sum(figures.tile_pu) == pytest.approx(figures.cost_estimate["expected"])
    assert cost.request_minimum(1.0) == 100.0
