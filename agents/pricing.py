"""Turning token usage into dollars: prices per million tokens, per model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Price:
    input_per_mtok: float
    output_per_mtok: float
    cache_write_per_mtok: float
    cache_read_per_mtok: float


def cost_usd(price: Price, tokens: Mapping[str, int]) -> float:
    """Dollars for ``tokens`` (``input``, ``output``, ``cache_write``, ``cache_read``).

    ``input`` counts only uncached input, as the API's usage reports it; cache writes and
    reads are priced on their own.
    """
    return (
        tokens.get("input", 0) * price.input_per_mtok
        + tokens.get("output", 0) * price.output_per_mtok
        + tokens.get("cache_write", 0) * price.cache_write_per_mtok
        + tokens.get("cache_read", 0) * price.cache_read_per_mtok
    ) / 1_000_000


def tokens_of(usage: Any) -> dict[str, int]:
    """Token counts of a Messages API ``usage`` object, by the names :func:`cost_usd` uses."""
    return {
        "input": usage.input_tokens,
        "output": usage.output_tokens,
        "cache_write": usage.cache_creation_input_tokens or 0,
        "cache_read": usage.cache_read_input_tokens or 0,
    }
