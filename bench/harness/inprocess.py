"""Part A: per-request latency through Django's test client, all variants in one process.

Variants are interleaved round by round (and their order rotated each round), so a burst of noise on
this shared machine lands on every variant alike instead of on whichever happened to run then.
"""

from __future__ import annotations

import gc
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.test import Client

from project.payloads import Scenario, signed_headers
from project.urls import Variant

from .stats import percentile


@dataclass(frozen=True)
class InProcessConfig:
    rounds: int
    # Requests per (scenario, variant) over all rounds ...
    iterations: int
    # ... except where Bolt's runner polls for ack() every 10 ms: those cost >= 10 ms each, and a
    # few hundred samples already give a stable median.
    slow_iterations: int
    warmup: int


@dataclass
class Cell:
    """The samples of one (scenario, variant): every request's latency, and each round's median."""

    scenario: Scenario
    variant: Variant
    samples_ms: list[float] = field(default_factory=list)
    round_medians_ms: list[float] = field(default_factory=list)


class BenchmarkError(RuntimeError):
    """A variant answered something other than what the benchmark expects: the numbers would lie."""


def is_slow(scenario: Scenario, variant: Variant) -> bool:
    return variant.key == "bolt" and scenario.listener_acks


def _post(client: Client, variant: Variant, scenario: Scenario, headers: dict[str, str]) -> tuple[int, bytes]:
    response = client.post(
        variant.path, data=scenario.body, content_type=scenario.content_type, headers=headers
    )
    return response.status_code, response.content


def _check_answer(scenario: Scenario, variant: Variant, status: int, content: bytes) -> None:
    expected = "ok" if variant.key == "bare" else scenario.expect_in_body
    if status != 200 or expected.encode() not in content:
        raise BenchmarkError(
            f"{variant.label} answered {scenario.label} with {status} {content[:200]!r}; "
            f"expected 200 containing {expected!r}"
        )


def run_in_process(
    config: InProcessConfig, scenarios: Sequence[Scenario], variants: Sequence[Variant]
) -> list[Cell]:
    client = Client()
    cells = {(s.key, v.key): Cell(s, v) for s in scenarios for v in variants}

    # Warm-up: imports, URL resolver and Bolt's caches, thread pools; also proves every variant
    # answers correctly before anything is timed.
    for scenario in scenarios:
        headers = signed_headers(scenario.body)
        for variant in variants:
            for _ in range(max(config.warmup, 1)):
                _check_answer(scenario, variant, *_post(client, variant, scenario, headers))

    started = time.perf_counter()
    for round_index in range(config.rounds):
        for scenario in scenarios:
            # A fresh signature per round keeps the timestamp inside Slack's five-minute window.
            headers = signed_headers(scenario.body)
            shift = round_index % len(variants)
            for variant in [*variants[shift:], *variants[:shift]]:
                total = config.slow_iterations if is_slow(scenario, variant) else config.iterations
                samples = _timed_batch(client, scenario, variant, headers, math.ceil(total / config.rounds))
                cell = cells[scenario.key, variant.key]
                cell.samples_ms.extend(samples)
                cell.round_medians_ms.append(percentile(sorted(samples), 50))
        elapsed = time.perf_counter() - started
        print(f"  in-process round {round_index + 1}/{config.rounds} done ({elapsed:.0f} s)", file=sys.stderr)
    return list(cells.values())


def _timed_batch(
    client: Client, scenario: Scenario, variant: Variant, headers: dict[str, str], batch: int
) -> list[float]:
    """The latency in ms of each of ``batch`` requests in a row."""
    # Collect the previous batch's garbage now, so it is not billed to this variant.
    gc.collect()
    samples = []
    perf_counter_ns = time.perf_counter_ns
    for _ in range(batch):
        before = perf_counter_ns()
        status, content = _post(client, variant, scenario, headers)
        samples.append((perf_counter_ns() - before) / 1e6)
        if status != 200:
            _check_answer(scenario, variant, status, content)
    return samples
