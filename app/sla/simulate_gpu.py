"""The demo's GPU utilization, for `flask simulate-metrics`: each demo instance (`app/demo.py` INSTANCES) is given
a pattern on which the cost-advice rules (`app/advice/thresholds.py`) find its one kind of recommendation over
any fortnight, and stay silent about the others:

- inference-l4-1, a model loaded and nearly nothing asked of it: GPU ≤ 5% except 3 days a fortnight of light work
  (15–35% all day). 11 idle days of 14 → idle instance. Each hour of the day is idle on 11 of 14 days, under the
  schedule rule's 80%, and its memory (40–60% of 24 GB) is over half a T4's 16 GB, so no schedule, no rightsizing.
- training-a100-1, working hours (weekdays 08–18 UTC, 60–90%, memory 70–90%) and a short Saturday job; idle nights
  and Sundays. 14 idle hours every day → schedule; 2 idle days (Sundays) is under the idle rule's 4, and not being
  busy every day keeps it off the commitment rule.
- llm-h100-1 and -2, steady 24/7 at 60–85% with memory 70–90% → commitment; their memory fills more than half of
  the next type down (A100 80 GB), so no rightsizing.
- batch-a10-1, always at work but small: GPU 20–38%, memory 15–28% of 24 GB, with one quiet day a fortnight →
  rightsize to L4 (p95 memory under half the L4's 24 GB, p95 GPU under 50%); the quiet day keeps it off the
  commitment rule, and one day is not enough for the idle rule.
- any other instance (one a demo user starts): well used, one quiet day a fortnight: nothing to advise.

Every bound holds for every minute, not just on average, so the rules see the same whether they read an hour's
mean or its maximum. A "fortnight" is counted in whole UTC days from the date's ordinal, so any 14 consecutive
days hold the same work days. During an outage the instance's GPU is idle and its memory freed (0%, 0%).
"""
from __future__ import annotations

import random
from datetime import date, datetime

Range = tuple[int, int]  # percent, low and high (inclusive)
Shape = tuple[Range, Range]  # (GPU, memory) for one minute

FORTNIGHT = 14
IDLE: Range = (0, 5)


def _inference(minute: datetime) -> Shape:
    if minute.toordinal() % FORTNIGHT in (3, 8, 12):
        return (15, 35), (45, 60)
    return IDLE, (40, 55)


def _training(minute: datetime) -> Shape:
    weekday, hour = minute.weekday(), minute.hour
    if weekday < 5 and 8 <= hour < 18:
        return (60, 90), (70, 90)
    if weekday == 5 and 10 <= hour < 16:
        return (50, 70), (60, 80)
    return IDLE, (5, 10)


def _llm(minute: datetime) -> Shape:
    return (60, 85), (70, 90)


def _batch(minute: datetime) -> Shape:
    if minute.toordinal() % FORTNIGHT == 6:
        return IDLE, (5, 15)
    return (20, 38), (15, 28)


def _well_used(minute: datetime) -> Shape:
    if minute.toordinal() % FORTNIGHT == 10:
        return IDLE, (10, 20)
    return (40, 75), (55, 80)


PATTERNS = {"inference-l4-1": _inference, "training-a100-1": _training, "llm-h100-1": _llm, "llm-h100-2": _llm,
            "batch-a10-1": _batch}


class GpuUsage:
    """One instance's utilization, minute by minute. Its draws come from a stream of their own (seeded with the
    instance and the day), so adding utilization left the simulated traffic exactly as it was."""

    def __init__(self, public_id: str, name: str):
        self.public_id = public_id
        self.pattern = PATTERNS.get(name, _well_used)
        self._day: date | None = None
        self._draws: list[tuple[float, float]] = []

    def reading(self, minute: datetime, down: bool) -> tuple[float, float]:
        """(GPU %, memory %) of the minute, with at most 2 decimals, as a reporter would send them."""
        if down:
            return 0.0, 0.0
        if minute.date() != self._day:
            self._day = minute.date()
            rng = random.Random(f"{self.public_id}:{self._day.isoformat()}:gpu")
            self._draws = [(rng.random(), rng.random()) for _ in range(1440)]
        draws = self._draws[minute.hour * 60 + minute.minute]
        return tuple(_percent(bounds, draw) for bounds, draw in zip(self.pattern(minute), draws))


def _percent(bounds: Range, draw: float) -> float:
    low, high = bounds
    return (low * 100 + round((high - low) * 100 * draw)) / 100
