"""What a rule found: a plain value the lifecycle (app/advice/service.py) turns into a `Recommendation`.

Rules only read; they return these, and the service decides what is new, what is the same finding again, and
what has gone. `savings_usd` is in USD cents per month (a month is 30 days) because the prices the rules compare
(instance rates, GPU list prices, plan fees) are in USD; the service converts it into the customer's currency.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    kind: str                 # one of KINDS
    subject: str              # ins_… public id, or "plan"
    instance_id: int | None
    title: str                # "Stop idle instance inference-l4-1"
    action: str | None        # "stop_instance" | "resize:L4-24GB" | "change_plan:free" | None (advice only)
    savings_usd: int          # estimated USD cents per month, > 0
    evidence: dict            # JSON-able: the numbers the rule used + "series": [{"label": "Nov 20", "value": 3.2}]
