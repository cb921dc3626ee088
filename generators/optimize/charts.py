"""Inline SVG bar charts for the optimization report (no scripts, no external assets)."""

from __future__ import annotations

from html import escape

COLORS = {"chosen": "#1a7f37", "accepted": "#3b6fb6", "rejected": "#c2410c", "baseline": "#6b7280"}
INK, GRID = "#1f2328", "#d0d7de"


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if abs(v) >= 0.01 else f"{v:.2e}"


def bar_chart(title: str, unit: str, bars: list[tuple[str, float, str]], line: tuple[float, str] | None = None,
              lower_is_better: bool = True, zoom: bool = False) -> str:
    """Horizontal bars ``(label, value, verdict)``; ``line`` is a reference value drawn across (a budget).
    ``zoom`` starts the axis just below the smallest value (for accuracies that differ in the third digit)."""
    label_w, bar_w, row_h, top = 230, 420, 24, 34
    bottom = top + row_h * len(bars)
    notes = [n for n in (line is not None, zoom) if n]  # each note under the bars gets its own line
    height = bottom + 10 + 16 * len(notes)
    values = [v for _, v, _ in bars] + ([line[0]] if line else [])
    hi = max(values) if values else 1.0
    lo = min(0.0, min(values)) if values else 0.0
    if zoom and values:
        lo = min(values) - 0.15 * ((hi - min(values)) or abs(hi) or 1.0)
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        return label_w + (v - lo) / span * bar_w

    hint = "lower is better" if lower_is_better else "higher is better"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 110}" height="{height}" '
           f'role="img" aria-label="{escape(title)}" font-family="system-ui, sans-serif" font-size="12">',
           f'<text x="0" y="16" font-weight="600" font-size="14" fill="{INK}">{escape(title)}</text>',
           f'<text x="{label_w + bar_w + 100}" y="16" text-anchor="end" fill="#57606a">{escape(unit)} · {hint}</text>']
    for i, (label, value, verdict) in enumerate(bars):
        y = top + i * row_h
        color = COLORS.get(verdict, COLORS["accepted"])
        w = max(1.0, x(value) - x(lo))
        shown = label if len(label) <= 32 else label[:31] + "…"  # a longer name would run off the left edge
        out.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" fill="{INK}">{escape(shown)}</text>')
        out.append(f'<rect x="{x(lo):.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{color}" rx="2">'
                   f'<title>{escape(label)}: {_fmt(value)} {escape(unit)} ({escape(verdict)})</title></rect>')
        out.append(f'<text x="{x(lo) + w + 6:.1f}" y="{y + 15}" fill="{INK}">{_fmt(value)}</text>')
    text_y = bottom + 16
    if line is not None:
        lx = x(line[0])
        out.append(f'<line x1="{lx:.1f}" x2="{lx:.1f}" y1="{top - 4}" y2="{bottom}" '
                   f'stroke="{INK}" stroke-dasharray="4 3"/>')
        # anchored so the label stays over the bars' area whichever end the line is near
        anchor = "start" if lx < label_w + 90 else "end" if lx > label_w + bar_w - 90 else "middle"
        out.append(f'<text x="{lx:.1f}" y="{text_y}" text-anchor="{anchor}" fill="{INK}">{escape(line[1])}</text>')
        text_y += 16
    if zoom:
        out.append(f'<text x="{label_w}" y="{text_y}" fill="#57606a">axis from {_fmt(lo)}</text>')
    out.append(f'<line x1="{label_w}" x2="{label_w}" y1="{top - 4}" y2="{bottom}" stroke="{GRID}"/>')
    out.append("</svg>")
    return "".join(out)


def legend() -> str:
    items = [("chosen", "chosen"), ("accepted", "within budget"), ("rejected", "rejected"), ("baseline", "baseline")]
    return "".join(f'<span class="key"><i style="background:{COLORS[k]}"></i>{escape(t)}</span>' for k, t in items)
