"""The GPU types Matrix rents: memory, list price, and the next smaller type a workload could move down to."""
from __future__ import annotations

from dataclasses import dataclass

from app.errors import DomainError


@dataclass(frozen=True)
class GpuType:
    code: str
    memory_gb: int
    hourly_price: int  # USD cents per hour, the list price
    smaller: str | None  # the next type down (less memory or less compute), None at the bottom


GPU_TYPES: dict[str, GpuType] = {gpu.code: gpu for gpu in (
    GpuType("H100-80GB", 80, 3_99, "A100-80GB"),
    GpuType("A100-80GB", 80, 2_49, "A100-40GB"),
    GpuType("A100-40GB", 40, 1_49, "A10-24GB"),
    GpuType("A10-24GB", 24, 75, "L4-24GB"),
    GpuType("V100-16GB", 16, 89, "T4-16GB"),
    GpuType("L4-24GB", 24, 59, "T4-16GB"),
    GpuType("T4-16GB", 16, 35, None),
)}


def gpu_type(code, field: str = "gpu_type") -> GpuType:
    """The catalog entry of `code`, or a DomainError naming `field`."""
    found = GPU_TYPES.get(code) if isinstance(code, str) else None
    if found is None:
        raise DomainError(f"Unknown GPU type {code!r}; choose one of {', '.join(GPU_TYPES)}.", field=field)
    return found
