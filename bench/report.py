"""Result tables: printed as Markdown so a run can be pasted into (or recorded in) RESULTS.md."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Table:
    scenario: str
    description: str
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # metric, value, target/note
    notes: list[str] = field(default_factory=list)
    failed: bool = False

    def add(self, metric: str, value: object, target: str = "") -> None:
        self.rows.append((metric, _fmt(value), target))

    def render(self) -> str:
        lines = [f"### {self.scenario}", "", self.description, "", "| metric | value | target / note |"]
        lines.append("|---|---:|---|")
        lines += [f"| {m} | {v} | {t} |" for m, v, t in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        return f"{value:.2f}" if value >= 1 else f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"
