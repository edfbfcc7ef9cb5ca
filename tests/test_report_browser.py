"""The HTML report in a real headless Chromium: loads cleanly, fetches nothing, draws its
charts. A screenshot is saved to ``artifacts/report.png``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from test_report import make_session

from phasegate.report import write_report

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def test_report_renders_in_chromium(tmp_path: Path) -> None:
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    root = tmp_path / "ws"
    make_session(root)
    page_path = write_report(root)

    console: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh user data dir
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 900},
        )
        try:
            page = context.new_page()
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri(), wait_until="load")
            charts: list[dict[str, Any]] = page.evaluate(
                """() => Array.from(document.querySelectorAll('svg.chart')).map(s => {
                    const r = s.getBoundingClientRect();
                    return {cls: s.getAttribute('class'), w: r.width, h: r.height,
                            marks: s.querySelectorAll('rect, polyline, line').length};
                })"""
            )
            bars: list[float] = page.evaluate(
                """() => Array.from(document.querySelectorAll('svg.score-chart rect.bar'))
                        .map(r => r.getBoundingClientRect().height)"""
            )
            title = page.title()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        finally:
            context.close()

    assert title == "phasegate report · s-report"
    assert console == []
    assert requests == [page_path.as_uri()]  # the page itself, nothing else
    kinds = [c["cls"].split()[-1] for c in charts]
    assert kinds.count("score-chart") == 2  # publish never started: no chart
    assert kinds.count("timeline-chart") == 1
    assert kinds.count("bar-chart") == 3
    for chart in charts:
        assert chart["w"] > 100 and chart["h"] > 30, chart
        assert chart["marks"] > 0, chart
    # drafting (3 iterations) + review (3); the drafting bars of 0.5 and 0.75 are drawn
    assert len(bars) == 6
    assert sum(1 for h in bars if h > 20) >= 2
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
