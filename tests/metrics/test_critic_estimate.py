"""The critic's estimate over a run (the practical guide's §5.3.3), read from hand-made logs whose answers are
worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from wganlab.metrics.critic_estimate import end_share, fid_change_correlation
from wganlab.study.aggregate import RunRecord, run_value


def logged(values_by_tenth: list[float], steps_per_tenth: int = 10) -> list[dict]:
    """One record per step, the estimate constant within each tenth of the run."""
    return [{"step": tenth * steps_per_tenth + i + 1, "wasserstein_estimate": value}
            for tenth, value in enumerate(values_by_tenth) for i in range(steps_per_tenth)]


def test_the_end_share_is_the_last_tenth_over_the_largest():
    assert end_share(logged([1, 2, 4, 8, 6, 5, 4, 3, 2, 2])) == pytest.approx(2 / 8)
    assert end_share(logged([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])) == pytest.approx(1.0)  # still rising: at its peak
    assert end_share(logged([4, 3, 2, 1, 0, -1, -1, -1, -1, -1])) == pytest.approx(1 / 4)  # through 0: its size


def test_the_end_share_is_none_where_the_log_cannot_say():
    assert end_share([]) is None
    assert end_share(logged([-3] * 10)) is None  # never above 0: no peak to be a share of
    sparse = [{"step": step, "wasserstein_estimate": 1.0} for step in (25, 50, 75, 100)]
    assert end_share(sparse) is None  # tenths of 10 steps, most of them without a record


def test_nan_and_the_other_records_are_left_out():
    records = [*logged([1, 2, 4, 8, 6, 5, 4, 3, 2, 2]), {"step": 55, "fid": 3.0}]
    records[54]["wasserstein_estimate"] = float("nan")
    assert end_share(records) == pytest.approx(2 / 8)


def evaluated(levels: list[tuple[float, float]], every: int = 10) -> list[dict]:
    """A log whose estimate averages each given level over the steps up to its evaluation (alternating one above
    and one below it), with that evaluation's FID."""
    records = [{"step": i * every + j + 1, "wasserstein_estimate": estimate + (1 if j % 2 else -1)}
               for i, (estimate, _) in enumerate(levels) for j in range(every)]
    return records + [{"step": (i + 1) * every, "fid": fid} for i, (_, fid) in enumerate(levels)]


def test_the_fid_change_correlation_ranks_the_changes_between_evaluations():
    # estimates 6, 4, 3.5, 1, 1.5 change by -2, -0.5, -2.5, 0.5 (ranks 2 3 1 4); FIDs 50, 30, 28, 10, 11 by -20, -2,
    # -18, 1 (ranks 1 3 2 4): d = 1, 0, -1, 0, so rho = 1 - 6 x 2 / (4 x 15) = 0.8
    levels = [(6.0, 50.0), (4.0, 30.0), (3.5, 28.0), (1.0, 10.0), (1.5, 11.0)]
    assert fid_change_correlation(evaluated(levels)) == pytest.approx(0.8)
    # levels that both fall all along but whose changes disagree: the FID falls most where the estimate falls least
    opposed = [(10.0, 100.0), (9.0, 60.0), (6.0, 50.0), (5.0, 20.0), (2.0, 10.0)]  # -1 -3 -1 -3 against -40 -10 -30 -10
    assert fid_change_correlation(evaluated(opposed)) < 0


def test_the_fid_change_correlation_is_none_under_three_changes_or_without_variation():
    assert fid_change_correlation(evaluated([(3.0, 30.0), (2.0, 20.0), (1.0, 15.0)])) is None  # two changes
    steady = [(5.0 - i, 50.0 - 3 * i * i) for i in range(5)]  # the estimate changes by -1 every time
    assert fid_change_correlation(evaluated(steady)) is None


def test_claims_read_them_from_a_run_s_log():
    run = RunRecord("r", {"variant": "v", "data": "mnist", "seed": "0"}, "", Path("."), {"final": {}},
                    metrics=logged([1, 2, 4, 8, 6, 5, 4, 3, 2, 2]))
    assert run_value(run, "estimate_end_share") == pytest.approx(0.25)
    assert run_value(run, "estimate_fid_change_correlation") is None  # no evaluations logged
