"""Fair shares and Jain's index: what each queue should hold, and how evenly it got it.

A queue's *fair share* of GPU at an instant follows the cohort's semantics, capped by what
the queue wants (its demand: the GPU of its running and pending workloads):

1. it is guaranteed its nominal quota, up to its demand;
2. what is left of the cohort's GPU quota after every queue took its guaranteed part is
   split in proportion to the fair-sharing weights among queues that want more, none getting
   more than it wants (weighted water-filling, max-min fair).

A queue without a cohort has only its nominal quota. Jain's index over the ratios
x_i = held_i / fair_i is (sum x)^2 / (n sum x^2): 1 when every queue holds the same fraction
of its fair share, 1/n when one queue holds everything.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def water_fill(
    demand: Sequence[float] | FloatArray,
    nominal: Sequence[float] | FloatArray,
    weight: Sequence[float] | FloatArray,
    capacity: float,
) -> FloatArray:
    """Fair shares of `capacity` among queues with these demands, nominal quotas and weights."""
    d = np.asarray(demand, dtype=np.float64)
    guaranteed = np.minimum(d, np.asarray(nominal, dtype=np.float64))
    want = d - guaranteed
    w = np.asarray(weight, dtype=np.float64)
    left = max(0.0, capacity - float(guaranteed.sum()))
    extra = np.zeros_like(d)
    active = (want > 0) & (w > 0)
    # Each round either satisfies at least one queue or hands out all that is left.
    while left > 1e-9 and active.any():
        level = left / float(w[active].sum())  # GPU per unit of weight this round
        need = np.where(active, (want - extra) / np.where(w > 0, w, 1.0), np.inf)
        step = min(level, float(need.min()))
        extra[active] += step * w[active]
        left -= step * float(w[active].sum())
        active &= want - extra > 1e-9
    out: FloatArray = guaranteed + extra
    return out


def jain(values: Sequence[float] | FloatArray) -> float:
    """Jain's fairness index of non-negative values (1.0 for an empty or all-zero list)."""
    x = np.asarray(values, dtype=np.float64)
    square_sum = float((x * x).sum())
    if x.size == 0 or square_sum == 0.0:
        return 1.0
    return float(x.sum()) ** 2 / (x.size * square_sum)
