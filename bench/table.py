"""Results as rows of one table, printed in Markdown so it pastes into the README."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One figure: what was measured, the engine floor beside it, and its target."""

    figure: str
    db: str = ""
    workers: str = ""
    result: str = ""
    floor: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None


HEADER = ("figure", "db", "workers", "result", "engine floor", "× floor", "target", "")


def number(value: float) -> str:
    """Three significant figures at most, without exponents."""
    if value != value:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def render(rows: list[Row]) -> str:
    cells = [HEADER] + [
        (
            row.figure,
            row.db,
            row.workers,
            row.result,
            row.floor,
            "" if row.ratio is None else f"{number(row.ratio)}×",
            row.target,
            {True: "ok", False: "MISSES", None: ""}[row.met],
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]
    lines = [_line(cells[0], widths), _line(["-" * w for w in widths], widths)]
    lines += [_line(line, widths) for line in cells[1:]]
    return "\n".join(lines)


def _line(values, widths) -> str:
    cells = (value.ljust(width) for value, width in zip(values, widths, strict=True))
    return "| " + " | ".join(cells) + " |"
