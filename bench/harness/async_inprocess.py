"""Part D, in-process: an ``AsyncApp``'s slash command through our async view, per request.

Django's ``AsyncClient`` drives the ASGI request path in this process's event loop, with the same
middleware as the other parts. Three variants, interleaved round by round as in part A: a bare async
view (the floor), ``AsyncSlackEventsView`` with our fast-ack runner, and the same view with Bolt's own
``AsyncioListenerRunner`` (``fast_ack=False``), which polls for ``ack()`` every 10 ms.
"""

from __future__ import annotations

import asyncio
import gc
import math
import sys
import time
from collections.abc import Sequence

from django.test import AsyncClient

from project.payloads import Scenario, signed_headers
from project.urls import Variant

from .inprocess import BenchmarkError, Cell, InProcessConfig
from .stats import percentile

BARE, OURS, BOLT_RUNNER = "async_bare", "async_ours", "async_bolt_runner"


def is_slow(variant: Variant) -> bool:
    """Bolt's runner polls for ack() every 10 ms: those requests take 10 ms at least."""
    return variant.key == BOLT_RUNNER


def run_async_in_process(
    config: InProcessConfig, scenario: Scenario, variants: Sequence[Variant]
) -> list[Cell]:
    return asyncio.run(_run(config, scenario, variants))


async def _post(
    client: AsyncClient, variant: Variant, scenario: Scenario, headers: dict[str, str]
) -> tuple[int, bytes]:
    response = await client.post(
        variant.path, data=scenario.body, content_type=scenario.content_type, headers=headers
    )
    return response.status_code, response.content


def _check_answer(scenario: Scenario, variant: Variant, status: int, content: bytes) -> None:
    expected = "ok" if variant.key == BARE else scenario.expect_in_body
    if status != 200 or expected.encode() not in content:
        raise BenchmarkError(
            f"{variant.label} answered {scenario.label} with {status} {content[:200]!r}; "
            f"expected 200 containing {expected!r}"
        )


async def _run(config: InProcessConfig, scenario: Scenario, variants: Sequence[Variant]) -> list[Cell]:
    client = AsyncClient()
    cells = {variant.key: Cell(scenario, variant) for variant in variants}

    # Warm-up: imports, the URL resolver, Bolt's caches; also proves every variant answers correctly.
    headers = signed_headers(scenario.body)
    for variant in variants:
        for _ in range(max(config.warmup, 1)):
            _check_answer(scenario, variant, *await _post(client, variant, scenario, headers))

    started = time.perf_counter()
    for round_index in range(config.rounds):
        # A fresh signature per round keeps the timestamp inside Slack's five-minute window.
        headers = signed_headers(scenario.body)
        shift = round_index % len(variants)
        for variant in [*variants[shift:], *variants[:shift]]:
            total = config.slow_iterations if is_slow(variant) else config.iterations
            samples = await _timed_batch(client, scenario, variant, headers, math.ceil(total / config.rounds))
            cell = cells[variant.key]
            cell.samples_ms.extend(samples)
            cell.round_medians_ms.append(percentile(sorted(samples), 50))
        elapsed = time.perf_counter() - started
        print(
            f"  async in-process round {round_index + 1}/{config.rounds} done ({elapsed:.0f} s)",
            file=sys.stderr,
        )
    return list(cells.values())


async def _timed_batch(
    client: AsyncClient, scenario: Scenario, variant: Variant, headers: dict[str, str], batch: int
) -> list[float]:
    """The latency in ms of each of ``batch`` requests in a row."""
    # Collect the previous batch's garbage now, so it is not billed to this variant.
    gc.collect()
    samples = []
    perf_counter_ns = time.perf_counter_ns
    for _ in range(batch):
        before = perf_counter_ns()
        status, content = await _post(client, variant, scenario, headers)
        samples.append((perf_counter_ns() - before) / 1e6)
        if status != 200:
            _check_answer(scenario, variant, status, content)
    return samples
