"""Order statistics for latency samples (no numpy: the benchmark needs nothing beyond the package)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of already sorted values, linearly interpolated."""
    if not sorted_values:
        return math.nan
    rank = (len(sorted_values) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    p99: float
    mean: float
    minimum: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        ordered = sorted(values)
        if not ordered:
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        return cls(
            n=len(ordered),
            median=percentile(ordered, 50),
            p99=percentile(ordered, 99),
            mean=statistics.fmean(ordered),
            minimum=ordered[0],
        )


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def describe_ratio(ours_over_theirs: float) -> str:
    """``0.071 (14.1x faster)`` / ``1.032 (3.2% slower)``: the ratio, and what it means in words."""
    if math.isnan(ours_over_theirs):
        return "n/a"
    if ours_over_theirs < 0.01:  # three decimals would say 0.000
        return f"{ours_over_theirs:.2g} ({1 / ours_over_theirs:.0f}x faster)"
    if ours_over_theirs < 0.5:
        return f"{ours_over_theirs:.3f} ({1 / ours_over_theirs:.1f}x faster)"
    change = (ours_over_theirs - 1) * 100
    return f"{ours_over_theirs:.3f} ({abs(change):.1f}% {'slower' if change > 0 else 'faster'})"
