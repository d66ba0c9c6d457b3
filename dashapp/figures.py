"""Figures of the analysis pages: pure functions from result objects to ``go.Figure``.

No I/O, no Dash, no plotly.express (docs/performance.md: express costs 2–3× per request). Style
from docs/ui.md and the Government Analysis Function: headline title plus a statistical subtitle,
at most about four categories, light grey gridlines, horizontal labels, sans-serif, the GAF
palette; the toolbar is hidden by :data:`GRAPH_CONFIG` on the ``dcc.Graph``.

Every colour used for marks has a contrast of at least 3:1 against white and every colour used
for text at least 4.5:1 (tests check both with :func:`contrast_ratio`).

Numbers and periods come from :mod:`explain.numbers` (hover texts, bar labels and value-axis ticks),
words from :mod:`explain.wording` (the usual range, unusual points). Phones (375 px): bar charts are
horizontal so long labels never collide, value-axis ticks are compact and few, bar labels sit outside
the bars with ``cliponaxis=False`` and room in the margin, and units go in the subtitle or above the
axis instead of axis titles that a narrow screen clips.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import plotly.graph_objects as go

from explain.numbers import (
    axis_ticks,
    format_value,
    is_percent,
    period_short_text,
    period_text,
    season_text,
    short_number,
    short_value,
    signed,
    signed_short_value,
)
from explain.wording import AVERAGE, LINE_LABELS, LOWER_LIMIT, POINT_WORDS, RUN_LENGTH, UPPER_LIMIT, rule_words

from .presenters_parts import UNEXPLAINED, Part
from .presenters_queries import MAX_COMPARE

# ----------------------------------------------------------------------------- colours
DARK_BLUE, TURQUOISE, DARK_PINK, ORANGE, DARK_GREY, LIGHT_PURPLE = (
    "#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1")
PALETTE = (DARK_BLUE, TURQUOISE, DARK_PINK, ORANGE, DARK_GREY, LIGHT_PURPLE)
SEQUENTIAL = ("#092135", "#12436D", "#2073BC", "#6BACE6", "#ADD1F1")
TEXT = "#0b0c0c"
SECONDARY_TEXT = "#484949"
GOOD = "#0f7a52"      # GOV.UK success
BAD = "#ca3535"       # GOV.UK error
GRID = "#E1E1E1"      # light grey gridlines (not information, so no contrast requirement)
PROVISIONAL_FILL = "#EBEBEB"
FONT = "Arial, Helvetica, sans-serif"
#: Colours that may draw chart marks (≥ 3:1 against white).
MARK_COLOURS = (*PALETTE, GOOD, BAD, SEQUENTIAL[0], SEQUENTIAL[1], SEQUENTIAL[2])
#: Colours that may draw text (≥ 4.5:1 against white).
TEXT_COLOURS = (TEXT, SECONDARY_TEXT, GOOD, BAD, DARK_BLUE, DARK_PINK, DARK_GREY)
#: Variation (NHS Making Data Count) → (colour, marker symbol, words: explain.wording.POINT_WORDS).
VARIATION_STYLE = {
    "improvement": (GOOD, "circle", POINT_WORDS["improvement"]),
    "concern": (BAD, "diamond", POINT_WORDS["concern"]),
    "neutral": (LIGHT_PURPLE, "square", POINT_WORDS["neutral"]),
}
GRAPH_CONFIG = {"displayModeBar": False, "responsive": True, "scrollZoom": False}
#: room on the right of a horizontal bar chart for the labels outside its bars ('+13.4k')
BAR_LABEL_MARGIN = 64
#: an axis title longer than this is broken into lines (a 375 px screen clips a long one)
AXIS_TITLE_WIDTH = 34
#: a bar's category label longer than this is broken into lines, so the bars keep most of a phone's width
CATEGORY_WIDTH = 16
#: value-axis ticks on a horizontal bar chart (its plot area is narrow on a phone)
BAR_TICKS = 3
#: room on the right of a trend chart for 'Average 3.47m' beside its line
LIMIT_LABEL_MARGIN = 88


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of '#rrggbb' (or '#rgb')."""
    value = colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    if len(value) != 6:
        raise ValueError(f"Not a hex colour: {colour!r}")
    channels = []
    for i in (0, 2, 4):
        c = int(value[i:i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str = "#FFFFFF") -> float:
    """WCAG contrast ratio (1–21) between two colours."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour_for(colour: str) -> str:
    """The colour itself when it is readable as text on white (≥ 4.5:1), else near-black."""
    return colour if contrast_ratio(colour) >= 4.5 else TEXT


def direction_colours(higher_is_better: bool | None) -> tuple[str, str]:
    """(colour of an increase, colour of a decrease): good/bad when the metric has a direction,
    else two neutral palette colours."""
    if higher_is_better is None:
        return DARK_BLUE, ORANGE
    return (GOOD, BAD) if higher_is_better else (BAD, GOOD)


# ----------------------------------------------------------------------------- layout
def wrap(text: str, width: int) -> str:
    """Break a title into lines of at most ``width`` characters at spaces (Plotly never wraps titles,
    so a long one would be cut off on a phone)."""
    import textwrap

    return "<br>".join(textwrap.wrap(text, width=width, break_long_words=False)) if text else ""


def base_layout(title: str, subtitle: str = "", *, height: int = 420, legend: bool = False) -> dict:
    title, subtitle = wrap(title, 36), wrap(subtitle, 52)
    extra_lines = title.count("<br>")
    top = 40 + 24 * (extra_lines + 1) + (18 * (subtitle.count("<br>") + 1) if subtitle else 0) + 6 * extra_lines
    axis = dict(showgrid=True, gridcolor=GRID, gridwidth=1, zeroline=False, tickangle=0, automargin=True,
                linecolor=SECONDARY_TEXT, tickfont=dict(color=TEXT, size=13), title=dict(font=dict(color=TEXT)))
    return dict(
        # a title of several lines is drawn a little high: more padding keeps its first line on screen
        title=dict(text=title, x=0, xanchor="left", y=1, yanchor="top", yref="container", pad=dict(t=12 + 6 * extra_lines),
                   font=dict(size=17, color=TEXT), subtitle=dict(text=subtitle, font=dict(size=13, color=SECONDARY_TEXT))),
        font=dict(family=FONT, size=13, color=TEXT),
        paper_bgcolor="#FFFFFF", plot_bgcolor="#FFFFFF", height=height + top - 104,
        margin=dict(l=10, r=30, t=top, b=40),
        xaxis=dict(axis), yaxis=dict(axis),
        showlegend=legend,
        legend=dict(orientation="h", x=0, y=-0.12, yanchor="top", font=dict(color=TEXT)),
        hoverlabel=dict(font=dict(family=FONT, color=TEXT), bgcolor="#FFFFFF"),
        separators=".,",
    )


def axis_title(text: str) -> dict:
    """An axis title broken into short lines and kept clear of the tick labels (``automargin`` on the
    axis makes room for it), so a narrow screen never clips it."""
    return dict(text=wrap(text, AXIS_TITLE_WIDTH), font=dict(color=TEXT), standoff=8)


def with_unit(subtitle: str, unit: str) -> str:
    """The subtitle with the value axis's unit ('…; values in households'): a horizontal chart's unit
    goes here, not in an axis title under the ticks."""
    if not unit:
        return subtitle
    words = "%" if is_percent(unit) else unit
    if not subtitle:
        return f"Values in {words}"
    return f"{subtitle.rstrip().rstrip('.;')}; values in {words}"


def category_labels(axis: dict, labels: Sequence[str], width: int = CATEGORY_WIDTH) -> None:
    """Long category labels broken into lines on the axis (the data keep the whole label): 'Claimant
    count<br>(seasonally<br>adjusted)' leaves the bars most of a 375 px screen."""
    wrapped = [wrap(label, width) or label for label in labels]
    if wrapped != list(labels):
        axis.update(tickmode="array", tickvals=list(labels), ticktext=wrapped)


def value_ticks(axis: dict, values: Sequence[float | None], unit: str = "", most: int = 5) -> None:
    """Compact, round ticks on a value axis from explain.numbers.axis_ticks ('3.46m', '3.465m'): at most
    ``most``, all different, short enough not to collide at 375 px."""
    present = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not present:
        return
    tickvals, ticktext = axis_ticks(min(present), max(present), unit, most=most)
    if tickvals:
        axis.update(tickmode="array", tickvals=tickvals, ticktext=ticktext)


def value_axis_label(layout: dict, text: str) -> None:
    """The value axis's unit written horizontally above the axis (GAF: no rotated axis titles)."""
    if not text:
        return
    layout.setdefault("annotations", []).append(dict(
        text=text, x=0, y=1, xref="paper", yref="paper", xanchor="left", yanchor="bottom", showarrow=False,
        yshift=6, font=dict(color=SECONDARY_TEXT, size=12), name="unit"))


def _ticks(labels: Sequence[str], freq: str, most: int = 8) -> tuple[list[int], list[str]]:
    """At most ``most`` regularly spaced tick positions with readable period names (horizontal).

    Monthly and quarterly series are labelled at the start of years (every 1, 2, 3 ... years);
    other series every k-th period."""
    n = len(labels)
    if n == 0:
        return [], []
    starts = [i for i, label in enumerate(labels) if _year_start(label, freq)]
    if freq in ("M", "Q") and len(starts) >= 2:
        step = max(1, math.ceil(len(starts) / most))
        positions = starts[::step]
        return positions, [label[:4] for label in (labels[i] for i in positions)]
    step = max(1, math.ceil(n / most))
    positions = list(range(0, n, step))
    return positions, [_tick_text(labels[i], freq) for i in positions]


def _year_start(label: str, freq: str) -> bool:
    return (freq == "M" and label[5:7] == "01") or (freq == "Q" and label.endswith("Q1"))


def _tick_text(label: str, freq: str) -> str:
    """A period as a short tick label: 'Sep 2026', 'Jan–Mar 2026', '2025-26'."""
    return period_short_text(label, freq or None)


def _level_hover(label: str, value: float | None, unit: str, freq: str = "") -> str:
    """'September 2026: 3.47 million households' (a period in words and a level with its unit)."""
    return f"{period_text(label, freq or None)}: {format_value(value, unit)}"


# ----------------------------------------------------------------------------- trends
def _event_index(event: Mapping[str, str], trend) -> int | None:
    """Position of the point whose period holds the event (by label, else by start date); None when
    the event falls outside the series."""
    labels = [p.period for p in trend.points]
    if event.get("period") in labels:
        return labels.index(event["period"])
    start = _event_start(event.get("period", ""))
    if start is None or not trend.points or start < trend.points[0].start:
        return None
    index = max(i for i, p in enumerate(trend.points) if p.start <= start)
    if index == len(trend.points) - 1 and len(trend.points) >= 2:
        import datetime as dt

        last, before = (dt.date.fromisoformat(p.start[:10]) for p in (trend.points[-1], trend.points[-2]))
        if dt.date.fromisoformat(start) >= last + (last - before):
            return None
    return index


def _event_start(label: str) -> str | None:
    try:
        from loaders.periods import parse_period

        return parse_period(label).start.isoformat()
    except Exception:  # an unreadable event period is simply not drawn
        return None


def provisional_spans(trend) -> list[tuple[int, int]]:
    """(first, last) positions of each run of provisional points."""
    spans, start = [], None
    for i, p in enumerate(trend.points):
        if p.status == "p" and start is None:
            start = i
        if p.status != "p" and start is not None:
            spans.append((start, i - 1))
            start = None
    if start is not None:
        spans.append((start, len(trend.points) - 1))
    return spans


def trend_figure(trend, *, title: str, subtitle: str = "", freq: str = "", latest=None,
                 as_first_published: bool = False) -> go.Figure:
    """The series with the usual range (the XmR chart's average and limits, dashed, labelled directly),
    unusual points by colour and shape (with words in the legend and hover, never rule numbers),
    provisional periods shaded, events as annotated vertical lines, and revised periods: hollow markers
    at the first-published value (or, when showing first-published figures, at the latest value from
    ``latest``). Hover texts name the period in words and the value with its unit."""
    labels = [p.period for p in trend.points]
    x = list(range(len(labels)))
    values = [p.value for p in trend.points]
    unit = trend.unit
    traces: list[go.BaseTraceType] = [go.Scatter(
        x=x, y=values, mode="lines+markers", name=trend.area_name or "Value", connectgaps=False,  # a gap is a gap
        line=dict(color=DARK_BLUE, width=2.5), marker=dict(color=DARK_BLUE, size=5),
        hovertext=[_level_hover(label, v, unit, freq) for label, v in zip(labels, values)],
        hovertemplate="%{hovertext}<extra></extra>")]
    annotations: list[dict] = []
    shapes: list[dict] = []
    if trend.centre is not None and x:
        present = [v for v in values if v is not None]
        span = (max(present + [trend.upper_limit]) - min(present + [trend.lower_limit])) or 1.0
        close = (trend.upper_limit - trend.lower_limit) < 0.12 * span   # labels would overlap: spread them
        for name, value, dash, shift in ((AVERAGE, trend.centre, "dash", 0),
                                         (UPPER_LIMIT, trend.upper_limit, "dot", 12),
                                         (LOWER_LIMIT, trend.lower_limit, "dot", -12)):
            traces.append(go.Scatter(x=[x[0], x[-1]], y=[value, value], mode="lines", name=name,
                                     line=dict(color=DARK_GREY, dash=dash, width=1.5), hoverinfo="skip"))
            annotations.append(dict(x=1, y=value, xref="paper", yref="y", xanchor="left", yanchor="middle",
                                    yshift=shift if close else 0, xshift=4,
                                    text=f"{LINE_LABELS[name]} {short_value(value, unit)}",
                                    showarrow=False, font=dict(color=TEXT, size=11)))
    for variation, (colour, symbol, words) in VARIATION_STYLE.items():
        idx = [i for i, p in enumerate(trend.points) if p.rules and p.variation == variation and p.value is not None]
        if idx:
            traces.append(go.Scatter(
                x=idx, y=[values[i] for i in idx], mode="markers", name=words,
                marker=dict(color=colour, symbol=symbol, size=10, line=dict(color="#FFFFFF", width=1)),
                hovertext=[f"{_level_hover(labels[i], values[i], unit, freq)}. {words}: "
                           f"{_point_reasons(trend, i)}" for i in idx],
                hovertemplate="%{hovertext}<extra></extra>"))
    revisions = _revision_points(trend, latest, as_first_published)
    if revisions:
        name = "Latest (revised) value" if as_first_published else "First published value"
        traces.append(go.Scatter(
            x=[i for i, _ in revisions], y=[v for _, v in revisions], mode="markers", name=name,
            marker=dict(color=DARK_PINK, symbol="circle-open", size=10, line=dict(color=DARK_PINK, width=2)),
            hovertext=[f"{period_text(labels[i], freq or None)}: {name.lower()} {format_value(v, unit)}"
                       for i, v in revisions],
            hovertemplate="%{hovertext}<extra></extra>"))
    for first, last in provisional_spans(trend):
        shapes.append(dict(type="rect", xref="x", yref="paper", x0=first - 0.5, x1=last + 0.5, y0=0, y1=1,
                           fillcolor=PROVISIONAL_FILL, line=dict(width=0), layer="below", name="provisional"))
        annotations.append(dict(x=(first + last) / 2, y=1, xref="x", yref="paper", yanchor="bottom",
                                text="Provisional", showarrow=False, font=dict(color=SECONDARY_TEXT, size=12)))
    for k, event in enumerate(trend.events):
        i = _event_index(event, trend)
        if i is None:
            continue
        shapes.append(dict(type="line", xref="x", yref="paper", x0=i, x1=i, y0=0, y1=1, name="event",
                           line=dict(color=DARK_PINK, width=1.5, dash="dashdot")))
        title_text = event.get("title", "")
        short_title = title_text if len(title_text) <= 28 else title_text[:27] + "…"
        right_half = i > len(x) / 2
        annotations.append(dict(x=i, y=0.98 - 0.08 * (k % 3), xref="x", yref="paper",
                                xanchor="right" if right_half else "left", xshift=-3 if right_half else 3,
                                text=short_title, showarrow=False, hovertext=title_text,
                                font=dict(color=DARK_PINK, size=11), bgcolor="rgba(255,255,255,0.85)"))
    layout = base_layout(title, subtitle, legend=True, height=460)
    positions, texts = _ticks(labels, freq)
    layout["xaxis"].update(tickmode="array", tickvals=positions, ticktext=texts, range=[-0.6, len(x) - 0.4])
    limits = [trend.upper_limit, trend.lower_limit] if trend.centre is not None else []
    firsts = [v for _, v in revisions]
    value_ticks(layout["yaxis"], values + limits + firsts, unit)
    layout["margin"].update(r=LIMIT_LABEL_MARGIN if trend.centre is not None else 20)  # room for the limit labels
    layout["annotations"] = annotations
    value_axis_label(layout, unit)
    layout["shapes"] = shapes
    return go.Figure(data=traces, layout=layout)


def _point_reasons(trend, index: int) -> str:
    """Why point ``index`` is unusual, every rule in words ('a point above the usual range; 7 points
    in a row above the average')."""
    from .presenters_trends import rule_points_up

    point = trend.points[index]
    return "; ".join(rule_words(rule, up=rule_points_up(rule, point, trend), length=RUN_LENGTH) for rule in point.rules)


def _revision_points(trend, latest, as_first_published: bool) -> list[tuple[int, float]]:
    from .presenters_trends import revised

    out = []
    if as_first_published:
        if latest is None:
            return []
        other = {p.period: p.value for p in latest.points}
        for i, p in enumerate(trend.points):
            value = other.get(p.period)
            if value is not None and revised(value, p.value):
                out.append((i, value))
        return out
    for i, p in enumerate(trend.points):
        if p.first_published is not None and p.value is not None and revised(p.value, p.first_published):
            out.append((i, p.first_published))
    return out


def compare_figure(trends: Sequence, *, title: str, subtitle: str = "", freq: str = "") -> go.Figure:
    """Overlaid lines of up to :data:`MAX_COMPARE` areas, labelled directly at their ends."""
    if len(trends) > MAX_COMPARE:
        raise ValueError(f"At most {MAX_COMPARE} areas can be compared on one chart, not {len(trends)}.")
    starts = sorted({(p.start, p.period) for t in trends for p in t.points})
    labels = [label for _, label in starts]
    position = {label: i for i, label in enumerate(labels)}
    traces, annotations = [], []
    for k, t in enumerate(trends):
        colour = PALETTE[k]
        xs = [position[p.period] for p in t.points]
        ys = [p.value for p in t.points]
        traces.append(go.Scatter(x=xs, y=ys, mode="lines", name=t.area_name, line=dict(color=colour, width=2.5),
                                 hovertext=[f"{t.area_name}, {_level_hover(p.period, p.value, t.unit, freq)}"
                                            for p in t.points],
                                 hovertemplate="%{hovertext}<extra></extra>"))
        last = next(((x, y) for x, y in zip(reversed(xs), reversed(ys)) if y is not None), None)
        if last:
            annotations.append(dict(x=last[0], y=last[1], xref="x", yref="y", xanchor="left", showarrow=False,
                                    text=f" {t.area_name}", font=dict(color=text_colour_for(colour), size=12)))
    layout = base_layout(title, subtitle, height=440)
    positions, texts = _ticks(labels, freq)
    layout["xaxis"].update(tickmode="array", tickvals=positions, ticktext=texts,
                           range=[-0.6, len(labels) - 0.4 + 0.25 * len(labels)])
    unit = trends[0].unit if trends else ""
    value_ticks(layout["yaxis"], [p.value for t in trends for p in t.points], unit)
    layout["annotations"] = annotations
    value_axis_label(layout, unit)
    return go.Figure(data=traces, layout=layout)


# ----------------------------------------------------------------------------- waterfalls
def waterfall_figure(parts: Sequence[Part], *, start: tuple[str, float], end: tuple[str, float], title: str,
                     subtitle: str = "", unit: str = "", higher_is_better: bool | None = None,
                     freq: str = "") -> go.Figure:
    """A horizontal waterfall, read top to bottom: the level at ``start`` (first bar), one floating bar
    per part in the order given (base = the running total), the level at ``end`` (last bar). Parts are
    coloured by sign, with error bars from each part's interval; the unexplained part is hatched.
    Horizontal so that long driver names sit on the y-axis and never collide at 375 px; bar labels sit
    outside the bars (``cliponaxis=False``, with room in the right margin); the unit is in the subtitle.
    ``start``/``end`` labels that are periods are written short ('Aug 2026'; ``freq``: the metric's).

    Bars are ``go.Bar`` with ``base`` (``go.Waterfall`` has no error bars): the value of a part's
    bar is its contribution, so start + Σ parts = end is visible in the figure's data
    (``bar.x`` lengths, ``bar.base`` running totals, ``bar.y`` labels).
    """
    up, down = direction_colours(higher_is_better)
    labels = [period_short_text(start[0], freq or None)] + [p.label for p in parts] + \
        [period_short_text(end[0], freq or None)]
    bases, lengths, colours, patterns, err_plus, err_minus, texts = [0.0], [start[1]], [DARK_GREY], [""], [0.0], \
        [0.0], [short_value(start[1], unit)]
    running = start[1]
    for p in parts:
        bases.append(running)
        lengths.append(p.value)
        colours.append(up if p.value >= 0 else down)
        patterns.append("/" if p.label == UNEXPLAINED else "")
        has_ci = p.ci_low is not None and p.ci_high is not None
        err_plus.append(max(0.0, p.ci_high - p.value) if has_ci else 0.0)
        err_minus.append(max(0.0, p.value - p.ci_low) if has_ci else 0.0)
        texts.append(signed_short_value(p.value, unit))
        running += p.value
    bases.append(0.0)
    lengths.append(end[1])
    colours.append(DARK_GREY)
    patterns.append("")
    err_plus.append(0.0)
    err_minus.append(0.0)
    texts.append(short_value(end[1], unit))
    hover = ([_level_hover(start[0], start[1], unit, freq)]
             + [f"{p.label}: {signed(p.value, unit)}" + (f" (range {signed(p.ci_low, unit)} to {signed(p.ci_high, unit)})"
                                                         if p.ci_low is not None and p.ci_high is not None else "")
                for p in parts]
             + [_level_hover(end[0], end[1], unit, freq)])
    bar = go.Bar(
        y=labels, x=lengths, base=bases, orientation="h", name="Contribution",
        marker=dict(color=colours, line=dict(color=colours, width=1),
                    pattern=dict(shape=patterns, fgcolor="#FFFFFF", solidity=0.3)),
        error_x=dict(type="data", symmetric=False, array=err_plus, arrayminus=err_minus, color=TEXT,
                     thickness=1.5, width=6, visible=any(err_plus) or any(err_minus)),
        text=texts, textposition="outside", textfont=dict(color=TEXT), cliponaxis=False,
        hovertext=hover, hoverinfo="text")
    layout = base_layout(title, with_unit(subtitle, unit), height=130 + 50 * len(labels))
    low, high, truncated = _value_range(start[1], end[1], bases, lengths, err_plus, err_minus)
    layout["xaxis"].update(range=[low, high])
    value_ticks(layout["xaxis"], [low, high], unit, most=BAR_TICKS)
    layout["yaxis"].update(showgrid=False, type="category", autorange="reversed", automargin=True)
    category_labels(layout["yaxis"], labels)
    layout["margin"].update(r=BAR_LABEL_MARGIN)
    layout["shapes"] = _connectors(bases, lengths)
    layout["bargap"] = 0.3
    layout["annotations"] = []
    if truncated:
        layout["margin"].update(b=84)
        layout["annotations"].append(dict(text="The value axis does not start at zero.", x=1, y=0, xref="paper",
                                          yref="paper", yshift=-52, showarrow=False, xanchor="right", yanchor="top",
                                          font=dict(color=SECONDARY_TEXT, size=12)))  # right: fits on a phone
    return go.Figure(data=[bar], layout=layout)


def _connectors(bases: Sequence[float], lengths: Sequence[float]) -> list[dict]:
    """Thin lines joining each bar's end to the next bar's start (the running total)."""
    shapes = []
    for i in range(len(bases) - 1):
        level = bases[i] + lengths[i]
        shapes.append(dict(type="line", xref="x", yref="y", y0=i + 0.35, y1=i + 1 - 0.35, x0=level, x1=level,
                           line=dict(color=SECONDARY_TEXT, width=1, dash="dot")))
    return shapes


def _value_range(start: float, end: float, bases, heights, err_plus, err_minus) -> tuple[float, float, bool]:
    """The y range: from zero when the change is large against the level, else around the
    running totals (with a note that the axis does not start at zero)."""
    levels = [start, end]
    for b, h, ep, em in zip(bases[1:-1], heights[1:-1], err_plus[1:-1], err_minus[1:-1]):
        levels += [b, b + h, b + h + ep, b + h - em]
    lo, hi = min(levels), max(levels)
    span = hi - lo
    if lo >= 0 and (span == 0 or span < 0.5 * hi):
        pad = max(span * 0.25, abs(hi) * 1e-3, 1e-9)
        return lo - pad, hi + pad, True
    if hi <= 0 and (span == 0 or span < 0.5 * abs(lo)):
        pad = max(span * 0.25, abs(lo) * 1e-3, 1e-9)
        return lo - pad, hi + pad, True
    pad = max(span * 0.12, 1e-9)
    return min(0.0, lo - pad), max(0.0, hi + pad), False


# ----------------------------------------------------------------------------- segments
def segments_figure(parts: Sequence[Part], *, title: str, subtitle: str = "", unit: str = "",
                    higher_is_better: bool | None = None, mix_rate: bool = False) -> go.Figure:
    """Horizontal bars of each segment's contribution (largest at the top), coloured by sign; for
    ratio metrics, mix and rate stacked (relative bars) with a marker at the net contribution."""
    ordered = list(reversed(parts))  # plotly draws the first category at the bottom
    labels = [p.label for p in ordered]
    # the unit goes in the subtitle (an axis title under the ticks is what a phone clips)
    layout = base_layout(title, with_unit(subtitle, unit), height=120 + 52 * max(1, len(parts)), legend=mix_rate)
    layout["yaxis"].update(showgrid=False, type="category", automargin=True)
    layout["xaxis"].update(zeroline=True, zerolinecolor=SECONDARY_TEXT)
    ends = [0.0] + [p.value for p in ordered] + [p.mix or 0.0 for p in ordered] + [p.rate or 0.0 for p in ordered]
    if mix_rate:  # stacked: each bar reaches the sum of its positive (or negative) pieces
        ends += [max(0.0, p.mix or 0.0) + max(0.0, p.rate or 0.0) for p in ordered]
        ends += [min(0.0, p.mix or 0.0) + min(0.0, p.rate or 0.0) for p in ordered]
    layout["xaxis"].update(range=_bar_range(ends))
    value_ticks(layout["xaxis"], ends, unit, most=BAR_TICKS)
    category_labels(layout["yaxis"], labels)
    if mix_rate:
        traces = [
            go.Bar(y=labels, x=[p.mix or 0.0 for p in ordered], orientation="h", name="Mix (share of the total)",
                   marker=dict(color=DARK_BLUE), hovertext=[f"{p.label}: mix {signed(p.mix or 0.0, unit)}"
                                                            for p in ordered],
                   hovertemplate="%{hovertext}<extra></extra>"),
            go.Bar(y=labels, x=[p.rate or 0.0 for p in ordered], orientation="h", name="Rate (within the segment)",
                   marker=dict(color=TURQUOISE), hovertext=[f"{p.label}: rate {signed(p.rate or 0.0, unit)}"
                                                            for p in ordered],
                   hovertemplate="%{hovertext}<extra></extra>"),
            go.Scatter(y=labels, x=[p.value for p in ordered], mode="markers+text", name="Net contribution",
                       marker=dict(color=TEXT, symbol="line-ns", size=18, line=dict(color=TEXT, width=3)),
                       text=[signed_short_value(p.value, unit) for p in ordered], textposition="top center",
                       textfont=dict(color=TEXT), cliponaxis=False,  # the top bar's label is not cut off
                       hovertext=[f"{p.label}: net {signed(p.value, unit)}" for p in ordered],
                       hovertemplate="%{hovertext}<extra></extra>"),
        ]
        layout["barmode"] = "relative"
        return go.Figure(data=traces, layout=layout)
    up, down = direction_colours(higher_is_better)
    bar = go.Bar(y=labels, x=[p.value for p in ordered], orientation="h", name="Contribution",
                 marker=dict(color=[up if p.value >= 0 else down for p in ordered]),
                 text=[signed_short_value(p.value, unit) for p in ordered], textposition="outside", textfont=dict(color=TEXT),
                 cliponaxis=False, hovertext=[f"{p.label}: {signed(p.value, unit)}" for p in ordered],
                 hovertemplate="%{hovertext}<extra></extra>")
    return go.Figure(data=[bar], layout=layout)


def _short_season(name: str) -> str:
    """A season's name for a tick: 'July' -> 'Jul', 'April to June' -> 'Apr–Jun', 'week 5' as it is."""
    if " to " in name:
        first, last = name.split(" to ")
        return f"{first[:3]}–{last[:3]}"
    return name[:3] if " " not in name else name


def _bar_range(ends: Sequence[float]) -> list[float]:
    """The value range of horizontal bars from zero, with room beyond each end for a label outside the
    bar ('-3,000' left of a negative bar would otherwise sit on its category label)."""
    low, high = min(0.0, *ends), max(0.0, *ends)
    span = (high - low) or 1.0
    room = 0.3 * span  # about six characters of a 375 px chart
    return [low - room if low < 0 else low, high + room if high > 0 else high]


# ----------------------------------------------------------------------------- model lab
def cv_figure(scores: Mapping, *, title: str, subtitle: str = "") -> go.Figure:
    """Mean absolute error per time-aware fold: the model beside the naive forecast."""
    folds = list(scores.get("folds", ()))
    names = [f"Fold {int(f['fold']) + 1}" for f in folds]
    model_mae, base_mae = [f.get("mae") for f in folds], [f.get("baseline_mae") for f in folds]
    traces = [
        go.Bar(x=names, y=model_mae, name="Model", marker=dict(color=DARK_BLUE),
               hovertext=[f"{n}: the model's average error {format_value(v, '')}" for n, v in zip(names, model_mae)],
               hovertemplate="%{hovertext}<extra></extra>"),
        go.Bar(x=names, y=base_mae, name="Naive forecast (last value carried forward)", marker=dict(color=ORANGE),
               hovertext=[f"{n}: the baseline's average error {format_value(v, '')}" for n, v in zip(names, base_mae)],
               hovertemplate="%{hovertext}<extra></extra>"),
    ]
    layout = base_layout(title, subtitle, legend=True, height=380)
    layout["barmode"] = "group"
    layout["yaxis"].update(rangemode="tozero")
    value_ticks(layout["yaxis"], [0.0] + model_mae + base_mae)
    value_axis_label(layout, "Mean absolute error")
    layout["xaxis"].update(showgrid=False)
    return go.Figure(data=traces, layout=layout)


def importance_figure(parts: Sequence[Part], *, title: str, subtitle: str = "", unit: str = "") -> go.Figure:
    """Horizontal bars of each driver's average size of contribution (mean |φ|; largest at the top),
    labelled outside the bars; the unit in the subtitle."""
    ordered = list(reversed(parts))
    bar = go.Bar(y=[p.label for p in ordered], x=[p.value for p in ordered], orientation="h",
                 name="Average size of contribution", marker=dict(color=DARK_BLUE),
                 text=[short_value(p.value, unit, change=True) for p in ordered], textposition="outside",
                 textfont=dict(color=TEXT),
                 cliponaxis=False, hovertext=[f"{p.label}: {format_value(p.value, unit)} on average" for p in ordered],
                 hovertemplate="%{hovertext}<extra></extra>")
    layout = base_layout(title, with_unit(subtitle, unit), height=120 + 52 * max(1, len(parts)))
    layout["yaxis"].update(showgrid=False, type="category", automargin=True)
    category_labels(layout["yaxis"], [p.label for p in ordered])
    layout["xaxis"].update(title=axis_title("Average size of contribution"), rangemode="tozero")
    layout["margin"].update(r=BAR_LABEL_MARGIN)
    value_ticks(layout["xaxis"], [0.0] + [p.value for p in ordered], unit, most=BAR_TICKS)
    return go.Figure(data=[bar], layout=layout)


def partial_dependence_figure(frame, *, driver_label: str, title: str, subtitle: str = "", unit: str = "",
                              seasonal: bool = False, freq: str = "") -> go.Figure:
    """The average prediction as one driver varies. A seasonal driver's axis names its months or
    quarters ('Jan', 'Jul'), never season numbers; the axis title is wrapped so a phone never clips it."""
    xs, ys = frame["value"].tolist(), frame["prediction"].tolist()
    if seasonal:
        season_freq = freq or ("M" if xs and max(xs) > 4 else "")
        names = [season_text(int(v), season_freq) for v in xs]
        hover = [f"{name}: {format_value(y, unit)}" for name, y in zip(names, ys)]
    else:
        hover = [f"{driver_label} {short_number(x)}: {format_value(y, unit)}" for x, y in zip(xs, ys)]
    line = go.Scatter(x=xs, y=ys, mode="lines+markers", name="Average prediction",
                      line=dict(color=DARK_BLUE, width=2.5), marker=dict(size=6), hovertext=hover,
                      hovertemplate="%{hovertext}<extra></extra>")
    layout = base_layout(title, subtitle, height=380)
    layout["xaxis"].update(title=axis_title(driver_label))
    if seasonal:
        every = 2 if len(xs) > 6 else 1  # 12 month names side by side collide at 375 px: every other one
        short = [_short_season(n) for n in names]
        layout["xaxis"].update(tickmode="array", tickvals=xs[::every], ticktext=short[::every])
    else:
        value_ticks(layout["xaxis"], xs, most=4)
    value_ticks(layout["yaxis"], ys, unit)
    value_axis_label(layout, f"Average prediction ({unit})" if unit else "Average prediction")
    return go.Figure(data=[line], layout=layout)


def residuals_figure(frame, *, title: str, subtitle: str = "", unit: str = "", freq: str = "") -> go.Figure:
    """Actual minus predicted for the whole by period, as bars around a zero line."""
    labels = frame["period"].tolist()
    values = frame["residual"].tolist()
    bar = go.Bar(x=list(range(len(labels))), y=values, name="Actual − predicted", customdata=labels,
                 marker=dict(color=[DARK_BLUE if v >= 0 else ORANGE for v in values]),
                 hovertext=[f"{period_text(label, freq or None)}: {signed(v, unit)}" for label, v in zip(labels, values)],
                 hovertemplate="%{hovertext}<extra></extra>")
    layout = base_layout(title, subtitle, height=380)
    positions, texts = _ticks(labels, freq)
    layout["xaxis"].update(tickmode="array", tickvals=positions, ticktext=texts, showgrid=False)
    layout["yaxis"].update(zeroline=True, zerolinecolor=SECONDARY_TEXT, zerolinewidth=1.5)
    value_ticks(layout["yaxis"], [0.0] + values, unit)
    value_axis_label(layout, unit)
    layout["bargap"] = 0.1
    return go.Figure(data=[bar], layout=layout)
