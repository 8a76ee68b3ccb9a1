"""Charts drawn as inline SVG from the data itself: bars and a map of points.

Every chart is a standalone `<svg>` string with no external resource (no fonts,
scripts or tiles), fit to be embedded in a page or written to a file.
"""

import math
from dataclasses import dataclass
from html import escape

FONT = "font-family=\"'Noto Sans CJK SC','Microsoft YaHei',sans-serif\""
# Colours of the escalation levels: none, reminder, common problem, supervision.
LEVEL_COLOURS = {0: "#2f9e44", 1: "#f2c200", 2: "#f08c00", 3: "#d62828"}
# (current, new) shades for levels 1 to 3, for comparisons.
LEVEL_PAIRS = (("#f7dc6f", "#c99700"), ("#f7b267", "#d9480f"), ("#f28482", "#9d0208"))
PALETTE = ("#1c7ed6", "#74c0fc", "#e8590c", "#ffa94d", "#2f9e44", "#8ce99a")


@dataclass(frozen=True)
class Series:
    """One set of bars: a name for the legend, a colour, a value per label."""

    name: str
    colour: str
    values: list


@dataclass(frozen=True)
class MapPoint:
    lat: float
    lng: float
    colour: str
    label: str
    title: str = ""
    href: str | None = None


def text_width(text: str, size: float) -> float:
    """Rough width of a text: CJK characters are square, Latin ones narrower."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.6 for ch in text)


def nice_step(span: float, ticks: int = 5) -> float:
    """A round step (1, 2 or 5 times a power of ten) cutting `span` into ~ticks."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    digits = 1 if abs(value) >= 10 else 2
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
            f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'role="img" aria-label="{escape(title)}" {FONT} font-size="12">',
            f"<title>{escape(title)}</title>",
            f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
            *body,
            "</svg>",
        ]
    )


def _legend(entries, width, top) -> tuple[list[str], float]:
    """Legend swatches in rows across the width; the parts and the height used."""
    parts, x, y = [], 10.0, top
    for name, colour in entries:
        needed = 18 + text_width(name, 12) + 16
        if x + needed > width and x > 10:
            x, y = 10.0, y + 18
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16:.1f}" y="{y + 10:.1f}">{escape(name)}</text>'
        )
        x += needed
    return parts, y + 18 - top


def bar_chart(
    title: str,
    labels: list[str],
    series: list[Series],
    *,
    unit: str = "",
    maximum: float | None = None,
    whole: bool = False,
    width: int = 760,
) -> str:
    """Horizontal bars, one group per label, one bar per series; None draws no bar.

    `whole` keeps the axis on whole numbers, for counts.
    """
    bar, gap, group_gap = 12, 2, 12
    label_width = min(240.0, max([60.0, *(text_width(x, 12) + 12 for x in labels)]))
    values = [v for s in series for v in s.values if v is not None]
    top_value = maximum if maximum is not None else max([0, *values])
    step = nice_step(top_value or 1)
    if whole:
        step = max(1.0, step)
    top_value = max(step, math.ceil((top_value or 1) / step) * step)

    body = [
        f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>'
    ]
    legend, legend_height = _legend([(s.name, s.colour) for s in series], width, 30)
    body += legend
    plot_top = 30 + legend_height + 8
    left, right = label_width, width - 70
    scale = (right - left) / top_value
    group_height = len(series) * (bar + gap) - gap
    plot_height = max(1, len(labels)) * (group_height + group_gap)

    tick = 0.0
    while tick <= top_value + 1e-9:
        x = left + tick * scale
        body.append(
            f'<line x1="{x:.1f}" y1="{plot_top - 4:.1f}" x2="{x:.1f}" '
            f'y2="{plot_top + plot_height:.1f}" stroke="#dee2e6"/>'
            f'<text x="{x:.1f}" y="{plot_top + plot_height + 14:.1f}" '
            f'text-anchor="middle" fill="#495057">{_number(tick)}</text>'
        )
        tick += step
    if unit:
        body.append(
            f'<text x="{right:.1f}" y="{plot_top + plot_height + 28:.1f}" '
            f'text-anchor="end" fill="#495057">{escape(unit)}</text>'
        )

    for row, label in enumerate(labels):
        y = plot_top + row * (group_height + group_gap)
        shown = label if text_width(label, 12) <= label_width - 12 else label[:18] + "…"
        body.append(
            f'<text x="{left - 8:.1f}" y="{y + group_height / 2 + 4:.1f}" '
            f'text-anchor="end"><title>{escape(label)}</title>{escape(shown)}</text>'
        )
        for index, one in enumerate(series):
            value = one.values[row] if row < len(one.values) else None
            bar_y = y + index * (bar + gap)
            if value is None:
                body.append(
                    f'<text x="{left + 4:.1f}" y="{bar_y + 10:.1f}" '
                    f'fill="#868e96">–</text>'
                )
                continue
            length = max(0.0, min(value, top_value)) * scale
            body.append(
                f'<rect x="{left:.1f}" y="{bar_y:.1f}" width="{length:.1f}" '
                f'height="{bar}" fill="{one.colour}"><title>{escape(one.name)} '
                f"{escape(label)}: {_number(value)} {escape(unit)}</title></rect>"
                f'<text x="{left + length + 4:.1f}" y="{bar_y + 10:.1f}" '
                f'font-size="10" fill="#343a40">{_number(value)}</text>'
            )
    return _svg(width, plot_top + plot_height + 36, title, body)


def scatter_map(
    title: str,
    points: list[MapPoint],
    legend: list[tuple[str, str]] = (),
    *,
    width: int = 760,
    height: int = 520,
    label_limit: int = 40,
) -> str:
    """Points by latitude and longitude in their bounding box, with no map tiles.

    The box is drawn in an equirectangular projection (longitude scaled by the
    cosine of the middle latitude), which is true enough across a district.
    """
    body = [
        f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>'
    ]
    parts, legend_height = _legend(list(legend), width, 30)
    body += parts
    top = 30 + legend_height + 8
    if not points:
        body.append(
            f'<text x="{width / 2:.0f}" y="{top + 60:.0f}" text-anchor="middle" '
            'fill="#868e96">no open case has a location 没有带定位的在办工单</text>'
        )
        return _svg(width, top + 120, title, body)

    lats = [p.lat for p in points]
    lngs = [p.lng for p in points]
    pad = max(0.002, (max(lats) - min(lats)) * 0.08, (max(lngs) - min(lngs)) * 0.08)
    south, north = min(lats) - pad, max(lats) + pad
    west, east = min(lngs) - pad, max(lngs) + pad
    squeeze = math.cos(math.radians((south + north) / 2))
    span_x, span_y = (east - west) * squeeze, north - south
    box_w, box_h = width - 80, height - top - 40
    scale = min(box_w / span_x, box_h / span_y)
    left = 60 + (box_w - span_x * scale) / 2
    plot_top = top + (box_h - span_y * scale) / 2

    def x_of(lng):
        return left + (lng - west) * squeeze * scale

    def y_of(lat):
        return plot_top + (north - lat) * scale

    body.append(
        f'<rect x="{x_of(west):.1f}" y="{y_of(north):.1f}" '
        f'width="{span_x * scale:.1f}" height="{span_y * scale:.1f}" '
        'fill="#f1f3f5" stroke="#adb5bd"/>'
    )
    body += _graticule(south, north, west, east, x_of, y_of)
    for point in sorted(points, key=lambda p: p.colour):
        x, y = x_of(point.lng), y_of(point.lat)
        dot = (
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{point.colour}" '
            f'stroke="#212529" stroke-width="0.8"><title>'
            f"{escape(point.title or point.label)}</title></circle>"
        )
        if len(points) <= label_limit:
            dot += (
                f'<text x="{x + 8:.1f}" y="{y + 4:.1f}" font-size="10">'
                f"{escape(point.label)}</text>"
            )
        if point.href:
            dot = f'<a href="{escape(point.href)}">{dot}</a>'
        body.append(dot)
    return _svg(width, height, title, body)


def _graticule(south, north, west, east, x_of, y_of) -> list[str]:
    lines = []
    for start, stop, vertical in ((west, east, True), (south, north, False)):
        step = nice_step(stop - start, 4)
        decimals = max(0, -math.floor(math.log10(step)))
        value = math.ceil(start / step) * step
        while value <= stop:
            if vertical:
                x = x_of(value)
                lines.append(
                    f'<line x1="{x:.1f}" y1="{y_of(north):.1f}" x2="{x:.1f}" '
                    f'y2="{y_of(south):.1f}" stroke="#dee2e6"/>'
                    f'<text x="{x:.1f}" y="{y_of(south) + 14:.1f}" font-size="10" '
                    f'text-anchor="middle" fill="#868e96">{value:.{decimals}f}°</text>'
                )
            else:
                y = y_of(value)
                lines.append(
                    f'<line x1="{x_of(west):.1f}" y1="{y:.1f}" x2="{x_of(east):.1f}" '
                    f'y2="{y:.1f}" stroke="#dee2e6"/>'
                    f'<text x="{x_of(west) - 4:.1f}" y="{y + 3:.1f}" font-size="10" '
                    f'text-anchor="end" fill="#868e96">{value:.{decimals}f}°</text>'
                )
            value += step
    return lines
