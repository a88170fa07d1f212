"""The paired test of a mean difference against 0, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wganlab.study.intervals import paired_p


def test_paired_p_by_hand():
    """Gains 0.01, 0.03, 0.02, 0.03, 0: mean 0.018, sd 0.0130, t = 3.09 on 4 degrees of freedom, p = 0.037. The
    same gain on every seed has no spread for a t-test, so the exact sign-flip test decides: all 5 of one sign is
    2 of 2^5 sign patterns, 0.0625, short of 0.05 (6 seeds: 2/64); no gain at all is p = 1; a NaN seed is left
    out; one seed tests nothing."""
    assert paired_p(np.array([0.01, 0.03, 0.02, 0.03, 0.0])) == pytest.approx(0.0367, abs=5e-5)
    assert paired_p(np.full(5, 0.02)) == 0.0625 and paired_p(np.full(6, -0.02)) == 2 / 64
    assert paired_p(np.array([0.62 - 0.60, 0.82 - 0.80, 0.72 - 0.70])) == 0.25  # equal to rounding: 2 of 8
    assert paired_p(np.zeros(4)) == 1.0
    gains = np.array([0.01, 0.03, 0.02, 0.03, 0.0])
    assert paired_p(np.insert(gains, 2, np.nan)) == paired_p(gains)
    assert math.isnan(paired_p(np.array([0.02])))
