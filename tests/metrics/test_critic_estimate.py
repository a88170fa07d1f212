"""The critic's estimate over a run (the practical guide's §5.3.3), read from hand-made logs whose answers are
worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from wganlab.metrics.critic_estimate import end_share, fid_correlation
from wganlab.study.aggregate import RunRecord, run_value


def logged(values_by_tenth: list[float], steps_per_tenth: int = 10) -> list[dict]:
    """One record per step, the estimate constant within each tenth of the run."""
    return [{"step": tenth * steps_per_tenth + i + 1, "wasserstein_estimate": value}
            for tenth, value in enumerate(values_by_tenth) for i in range(steps_per_tenth)]


def test_the_end_share_is_the_last_tenth_over_the_largest():
    assert end_share(logged([1, 2, 4, 8, 6, 5, 4, 3, 2, 2])) == pytest.approx(2 / 8)
    assert end_share(logged([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])) == pytest.approx(1.0)  # still rising: at its peak
    assert end_share(logged([4, 3, 2, 1, 0, -1, -1, -1, -1, -1])) == pytest.approx(-1 / 4)  # fell through 0


def test_the_end_share_is_none_where_the_log_cannot_say():
    assert end_share([]) is None
    assert end_share(logged([-3] * 10)) is None  # never above 0: no peak to be a share of
    sparse = [{"step": step, "wasserstein_estimate": 1.0} for step in (25, 50, 75, 100)]
    assert end_share(sparse) is None  # tenths of 10 steps, most of them without a record


def test_nan_and_the_other_records_are_left_out():
    records = [*logged([1, 2, 4, 8, 6, 5, 4, 3, 2, 2]), {"step": 55, "fid": 3.0}]
    records[54]["wasserstein_estimate"] = float("nan")
    assert end_share(records) == pytest.approx(2 / 8)


def test_the_fid_correlation_pairs_each_evaluation_with_the_estimates_since_the_last():
    # estimates averaging 5, 4, 3, 2 over (0, 10], (10, 20], (20, 30], (30, 40] (6 and 4 in turn, then 5 and 3, ...)
    records = [{"step": step, "wasserstein_estimate": (5.0 - (step - 1) // 10) + (1 if step % 2 else -1)}
               for step in range(1, 41)]
    for step, fid in ((10, 40.0), (20, 30.0), (30, 35.0), (40, 10.0)):
        records.append({"step": step, "fid": fid})
    # ranks 4 3 2 1 against 4 2 3 1: d = 0, 1, -1, 0, so rho = 1 - 6 x 2 / (4 x 15) = 0.8
    assert fid_correlation(records) == pytest.approx(0.8)
    # the last FID 50 instead: FID ranks 3 1 2 4, d = 1, 2, 0, -3, so rho = 1 - 6 x 14 / 60 = -0.4
    assert fid_correlation([*records[:-1], {"step": 40, "fid": 50.0}]) == pytest.approx(-0.4)


def test_the_fid_correlation_is_none_under_three_evaluations_or_without_variation():
    records = [{"step": s, "wasserstein_estimate": float(s)} for s in range(1, 21)]
    assert fid_correlation([*records, {"step": 10, "fid": 5.0}, {"step": 20, "fid": 4.0}]) is None
    flat = [{"step": s, "wasserstein_estimate": 1.0} for s in range(1, 31)]
    assert fid_correlation(flat + [{"step": s, "fid": float(s)} for s in (10, 20, 30)]) is None


def test_claims_read_them_from_a_run_s_log():
    run = RunRecord("r", {"variant": "v", "data": "mnist", "seed": "0"}, "", Path("."), {"final": {}},
                    metrics=logged([1, 2, 4, 8, 6, 5, 4, 3, 2, 2]))
    assert run_value(run, "estimate_end_share") == pytest.approx(0.25)
    assert run_value(run, "estimate_fid_correlation") is None  # no evaluations logged
