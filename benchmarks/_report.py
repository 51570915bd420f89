"""Plain-text tables and the target checklist that ``run.py`` prints."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned first column, right-aligned figures, like a terminal report."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        parts = [
            row[i].ljust(widths[i]) if i == 0 else row[i].rjust(widths[i])
            for i in range(len(headers))
        ]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value >= 1000:
            return f"{value:,.0f}"
        if value >= 100:
            return f"{value:.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def median_of(runs: list[dict[str, Any]], key: str) -> Optional[float]:
    """Median of one figure over repetitions, ignoring runs that lack it."""
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def ratio(a: Optional[float], b: Optional[float]) -> Optional[str]:
    if a is None or b is None or b == 0:
        return None
    return f"x{a / b:.2f}"


@dataclass
class Targets:
    """The issue's targets, each next to its measured figure."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def check(
        self, target: str, figure: Optional[float], ok: Optional[bool], unit: str = ""
    ) -> None:
        shown = "not measured" if figure is None else f"{_cell(figure)}{unit}"
        verdict = "n/a" if ok is None else ("PASS" if ok else "MISS")
        self.rows.append((target, shown, verdict))

    def note(self, target: str, shown: str, ok: Optional[bool]) -> None:
        self.rows.append((target, shown, "n/a" if ok is None else ("PASS" if ok else "MISS")))

    def render(self) -> str:
        return table(["target", "measured", "result"], self.rows)

    @property
    def missed(self) -> list[str]:
        return [r[0] for r in self.rows if r[2] == "MISS"]


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the report."""
    print(message, file=sys.stderr, flush=True)


def paired_ratio(a: list[dict[str, Any]], b: list[dict[str, Any]], key: str) -> Optional[float]:
    """Median over repetitions of a[i][key] / b[i][key] (same repetition, same noise)."""
    values = [x[key] / y[key] for x, y in zip(a, b) if x.get(key) and y.get(key)]
    return statistics.median(values) if values else None


def fmt_ratio(value: Optional[float]) -> Optional[str]:
    return None if value is None else f"x{value:.2f}"


def spread(values: Sequence[float]) -> Optional[str]:
    """``min..max`` of the per-round figures, the honest error bar of a median."""
    if not values:
        return None
    return f"{_cell(min(values))}..{_cell(max(values))}"


def verdict(ok: Optional[bool]) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")
