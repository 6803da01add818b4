"""templates/_macros/charts.html: the server-side SVG bar chart (shared with other pages, e.g. SLA reports)."""
from __future__ import annotations

import re

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tests.support import REPO_ROOT

ENV = Environment(loader=FileSystemLoader(REPO_ROOT / "templates"), undefined=StrictUndefined, autoescape=True)


def _chart(*args, **kwargs) -> str:
    macro = ENV.from_string('{% from "_macros/charts.html" import bar_chart %}{{ bar_chart(*args, **kwargs) }}')
    return macro.render(args=args, kwargs=kwargs)


def _bars(svg: str) -> list[tuple[float, float]]:
    """(y, height) of each bar."""
    found = re.findall(r'<rect x="[^"]+" y="([^"]+)"\s+width="[^"]+"\s+height="([^"]+)"', svg)
    return [(float(y), float(h)) for y, h in found]


def test_bars_scale_to_the_highest_value_or_the_reference_line():
    svg = _chart("c", "Latency p95", ["Mon", "Tue", "Wed"], [100, 400, 200], reference=500,
                 reference_label="Objective 500 ms", value_labels=["100 ms", "400 ms", "200 ms"])

    assert '<title id="c-title">Latency p95</title>' in svg and 'aria-labelledby="c-title c-desc"' in svg
    plot = 180 - 18 - 20
    assert [h for _, h in _bars(svg)] == [round(100 / 500 * plot, 2), round(400 / 500 * plot, 2),
                                          round(200 / 500 * plot, 2)]
    assert re.search(r'<line x1="0" x2="600" y1="18.0" y2="18.0"[^>]*data-testid="chart-reference"', svg)
    assert "<title>Tue: 400 ms</title>" in svg and "Objective 500 ms" in svg
    assert "<td>Wed</td><td class=\"num\">200 ms</td>" in svg  # the table fallback


def test_without_a_reference_the_highest_bar_fills_the_plot_and_labels_are_thinned():
    labels = [f"d{n}" for n in range(31)]
    svg = _chart("c", "Requests", labels, list(range(31)), table=False)

    assert max(h for _, h in _bars(svg)) == 142.0 and "chart-reference" not in svg and "<table" not in svg
    assert len(re.findall(r'aria-hidden="true">d\d+</text>', svg)) == 8  # every 4th of 31
    assert "31 bars, from d0 to d30; the last is 30." in svg


def test_no_data_and_all_zero_draw_an_empty_chart():
    assert "No data." in _chart("c", "Nothing", [], [])
    assert [h for _, h in _bars(_chart("c", "Zeros", ["a", "b"], [0, 0]))] == [0.0, 0.0]


def test_labels_are_escaped():
    svg = _chart("c", "<b>title</b>", ["<script>"], [1])
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "<b>" not in svg
