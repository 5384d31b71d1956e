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
    demand: Sequence[float], nominal: Sequence[float], weight: Sequence[float], capacity: float
) -> list[float]:
    """Fair shares of `capacity` among queues with these demands, nominal quotas and weights."""
    guaranteed = [min(d, n) for d, n in zip(demand, nominal, strict=True)]
    share = list(guaranteed)
    left = capacity - sum(guaranteed)
    # Queues wanting more, in the order they are satisfied as the water level rises.
    wanting = sorted(
        (
            ((d - g) / w, i)
            for i, (d, g, w) in enumerate(zip(demand, guaranteed, weight, strict=True))
            if d > g and w > 0
        ),
    )
    total_weight = sum(weight[i] for _, i in wanting)
    for level, i in wanting:
        if left <= 0:
            break
        # Everyone still wanting gets `level` per unit of weight, unless that is too much.
        step = min(level, left / total_weight)
        share[i] = guaranteed[i] + step * weight[i]
        if step < level:
            # The pool ran dry: every queue still wanting gets the same level.
            for _, j in wanting[wanting.index((level, i)) + 1 :]:
                share[j] = guaranteed[j] + step * weight[j]
            break
        left -= level * weight[i]
        total_weight -= weight[i]
    return share


def jain(values: Sequence[float] | FloatArray) -> float:
    """Jain's fairness index of non-negative values (1.0 for an empty or all-zero list)."""
    x = np.asarray(values, dtype=np.float64)
    square_sum = float((x * x).sum())
    if x.size == 0 or square_sum == 0.0:
        return 1.0
    return float(x.sum()) ** 2 / (x.size * square_sum)
