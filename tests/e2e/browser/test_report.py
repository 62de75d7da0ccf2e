"""The standalone HTML report: one self-contained file, rendered in a real headless Chromium.

The rendering details of a test run use a fixture written from the payload contract
(tests/data/test_run_*.json); a real test run is written by the real `agents-mcp test --html` on
the sandbox and again from the store by `agents-mcp report RUN_ID`; simulations are real too: run
through the real server on the sandbox, then written by the real `agents-mcp report` command.
Assertions are what a person sees: names, rates, verdicts, the failing condition, the turn where
a flaky test's runs part. Screenshots: test-artifacts/report/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agents_mcp.report import render_report, viewer_html
from agents_mcp.report.render import MAX_BYTES, script_json
from tests.support.browser import (
    THEMES,
    VIEWPORTS,
    chromium,
    keep_image,
    luminance,
    new_page,
    require_browser,
    screenshot,
)
from tests.support.mcp_fixture import sandbox_env, stdio_server, text_of
from tests.support.paths import DATA, REPO

PAYLOAD = json.loads((DATA / "test_run_payload.json").read_text(encoding="utf-8"))
TRANSCRIPTS = json.loads((DATA / "test_run_transcripts.json").read_text(encoding="utf-8"))
REGRESSED = "order status while the order system is down"
FLAKY = "refund for damaged order"


# --- the page itself (no browser) -----------------------------------------------------------


def test_viewer_is_self_contained_and_small() -> None:
    html = viewer_html()
    assert len(html.encode()) <= MAX_BYTES
    # nothing to fetch: no external script, style, font, image or frame
    assert not re.search(r"""(src|href)\s*=|@import|url\(|https?://""", html), "external reference"
    assert html.count("<script") == 2 and html.count("</script>") == 2


def test_embedded_data_cannot_close_its_script() -> None:
    closing = "</script><script>x()</script>"
    hostile = {"simulation_id": "sim_0", "status": "done", "summary": closing}
    html = render_report(hostile)
    assert html.count("</script>") == 2  # the two of the page, none from the data
    assert json.loads(script_json(hostile)) == hostile
    assert "\u2028" not in script_json({"s": "a\u2028b"})


# --- a test run, in the browser ----------------------------------------------------------------


async def _open(browser: Any, path: Path, theme: str, width: int) -> Any:
    page, log = await new_page(browser, theme=theme, width=width)
    await page.goto(path.as_uri())
    await page.wait_for_selector("body[data-state=ready]", timeout=10_000)
    return page, log


@pytest.mark.anyio
async def test_test_run_report_shows_rates_flaky_regressions_and_divergence(tmp_path: Path) -> None:
    require_browser()
    report = tmp_path / "run.html"
    report.write_text(render_report(PAYLOAD, TRANSCRIPTS), encoding="utf-8")
    async with chromium() as browser:
        for theme in THEMES:
            for size, width in VIEWPORTS.items():
                page, log = await _open(browser, report, theme, width)
                shot = await screenshot(page, "report", f"test-run-{theme}-{size}")
                if (theme, size) == ("light", "wide"):
                    keep_image(shot, "report-test-run.png")
                assert log.errors == []
                assert all(url.startswith("file:") for url in log.requests), log.requests

                # the pass-rate table: every test with its rate; regressions first
                rows = page.locator("table.rates tbody tr")
                names = [await r.get_attribute("data-test") for r in await rows.all()]
                assert names[0] == REGRESSED
                assert set(names) == {t["name"] for t in PAYLOAD["tests"]}
                flaky_row = page.locator(f'table.rates tr[data-test="{FLAKY}"]')
                assert await flaky_row.locator("td.rate").inner_text() == "2/3"
                assert "flaky" in await flaky_row.inner_text()
                stable = page.locator('table.rates tr[data-test="greeting names the store"]')
                assert "flaky" not in await stable.inner_text()
                cells = [
                    await c.get_attribute("title") for c in await flaky_row.locator(".cell").all()
                ]
                assert cells == ["run 1: passed", "run 2: failed", "run 3: passed"]
                regressed_row = page.locator(f'table.rates tr[data-test="{REGRESSED}"]')
                assert "3/3 → 0/3" in await regressed_row.inner_text()
                assert "regressed" in await regressed_row.inner_text()
                assert REGRESSED in await page.locator(".regressions").inner_text()

                # per-condition rates, the failing condition marked
                card = page.locator(f'.card.test[data-test="{FLAKY}"]')
                failing = card.locator(".cond.failing")
                assert await failing.count() == 1
                assert "Agent offers a refund" in await failing.inner_text()
                assert "2/3" in await failing.inner_text()

                # the flaky test's runs side by side from the divergent turn
                div = card.locator(".divergence")
                assert "part at turn 4" in await div.inner_text()
                passing = await div.locator(".side.pass .divergent").inner_text()
                failing_turn = await div.locator(".side.fail .divergent").inner_text()
                assert "full refund of $129.00" in passing and "#4" in passing
                assert "returns team" in failing_turn and "#4" in failing_turn
                assert "want my money back" in await div.locator(".side.fail").inner_text()

                # readable: the theme is followed, nothing spills sideways at narrow widths
                bg = await page.evaluate("getComputedStyle(document.body).backgroundColor")
                assert (luminance(bg) < 0.3) if theme == "dark" else (luminance(bg) > 0.8)
                spill = await page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert spill <= 0, f"{size}: the page is {spill}px wider than the window"
                await page.close()


@pytest.mark.anyio
async def test_divergence_without_transcripts_shows_the_divergent_pair(tmp_path: Path) -> None:
    require_browser()
    report = tmp_path / "run.html"
    report.write_text(render_report(PAYLOAD), encoding="utf-8")
    async with chromium() as browser:
        page, log = await _open(browser, report, "light", 700)
        div = page.locator(f'.card.test[data-test="{FLAKY}"] .divergence')
        assert "full refund" in await div.locator(".side.pass").inner_text()
        assert "returns team" in await div.locator(".side.fail").inner_text()
        assert await div.locator(".turn").count() == 2
        assert log.errors == []


@pytest.mark.anyio
async def test_hostile_text_is_shown_not_run(tmp_path: Path) -> None:
    require_browser()
    payload = json.loads(json.dumps(PAYLOAD))
    payload["tests"][0]["name"] = "<img src=x onerror=alert(1)></script><script>alert(2)</script>"
    report = tmp_path / "run.html"
    report.write_text(render_report(payload), encoding="utf-8")
    async with chromium() as browser:
        page, log = await _open(browser, report, "light", 900)
        assert "onerror=alert(1)" in await page.locator("table.rates").inner_text()
        assert log.dialogs == [] and log.errors == []


# --- a real simulation, through `agents-mcp report` ---------------------------------------------

CRITERIA = [
    {"id": "asked_order_number", "goal": "The agent asks for the order number before acting"},
    {"id": "offers_callback", "name": "Offers a callback", "goal": "The agent offers a callback"},
]
MOCKS = {"lookup_order": {"return": "Order service timed out (503)", "is_error": True}}


def _report_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "AGENTS_MCP_"))}
    env["AGENTS_MCP_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "agents_mcp", "report", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.anyio
async def test_report_command_writes_a_stored_simulation(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    require_browser()
    async with stdio_server(sandbox_env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        args = {
            "agent_id": "agent_demo_support",
            "user_prompt": "A caller whose boots arrived damaged [turns=12]",
            "criteria": CRITERIA,
            "tool_mocks": MOCKS,
        }
        result = await client.call_tool("simulate_conversation", args)
        assert not result.is_error, text_of(result)
        summary = result.structured_content
        sid = summary["simulation_id"]
    out = tmp_path / "reports" / "sim.html"
    done = _report_cli(tmp_path, sid, "--html", str(out))
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stdout
    html = out.read_text(encoding="utf-8")
    assert "sk_sandbox" not in html  # the key is nowhere in a report

    async with chromium() as browser:
        for theme in THEMES:
            for size, width in VIEWPORTS.items():
                page, log = await _open(browser, out, theme, width)
                await screenshot(page, "report", f"simulation-{theme}-{size}")
                assert log.errors == []
                # every criterion with its verdict, as the summary has it
                for crit in summary["criteria"]:
                    item = page.locator(f'.criteria li[data-criterion="{crit["id"]}"]')
                    word = {"success": "passed", "failure": "failed"}.get(crit["result"])
                    assert (word or crit["result"]) in await item.inner_text()
                # the whole transcript as a timeline, the failed tool results marked
                turns = page.locator(".transcript .timeline .turn")
                assert await turns.count() == summary["turns"]["total"]
                failed = summary["tools"]["errors"]
                assert failed, "the mock makes lookup_order fail"
                for err in failed:
                    turn = page.locator(f'.transcript .turn[data-turn="{err["turn"]}"]')
                    assert "failed" in (await turn.get_attribute("class") or "")
                    marked = await turn.locator(".tool.result.bad").inner_text()
                    assert "FAILED lookup_order" in marked
                spill = await page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert spill <= 0
                await page.close()


def test_report_command_refuses_what_it_cannot_write(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    unknown = _report_cli(tmp_path, "sim_0123456789abcdef", "--html", str(out))
    assert unknown.returncode == 2 and "No stored simulations" in unknown.stderr
    bad = _report_cli(tmp_path, "nonsense", "--html", str(out))
    assert bad.returncode == 2 and "is not a simulation id" in bad.stderr
    (tmp_path / "simulations.sqlite3").touch()  # a store, without that run
    run = _report_cli(tmp_path, "run_3f2a9c41d07e0000", "--html", str(out))
    assert run.returncode == 2 and "Unknown test run id 'run_3f2a9c41d07e0000'" in run.stderr
    assert not out.exists()


# --- a real test run, through `agents-mcp test --html` and `agents-mcp report` ------------------

FLAKY_DEMO = "Gives the new delivery date (flaky)"  # test_demo_delivery_date_flaky: 3/5, fixed
FAILING_DEMO = "Late parcel: goodwill discount code"  # [requires: offer a discount code]
PASSING_DEMO = "Refund for a torn rain jacket"


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "AGENTS_MCP_"))}
    env.update(AGENTS_MCP_DATA_DIR=str(data_dir), AGENTS_MCP_POLL_SECONDS="0.1")
    return subprocess.run(
        [sys.executable, "-m", "agents_mcp", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.anyio
async def test_test_and_report_commands_write_a_real_test_run(tmp_path: Path) -> None:
    require_browser()
    suite = tmp_path / "suite.json"
    tests = ["test_demo_delivery_date_flaky", "test_demo_late_parcel_discount",
             "test_demo_refund_torn_jacket"]  # fmt: skip
    body = {"agent_id": "agent_demo_support", "repeat": 5, "tests": tests}
    suite.write_text(json.dumps(body), encoding="utf-8")
    data, ran, stored = tmp_path / "data", tmp_path / "ran.html", tmp_path / "stored.html"
    result = tmp_path / "result.json"
    done = _cli(data, "test", str(suite), "--sandbox", "--html", str(ran), "--json", str(result))
    assert done.returncode == 1, done.stderr  # the discount test fails: the gate says so
    payload = json.loads(result.read_text(encoding="utf-8"))
    run_id = payload["run_id"]
    written = _cli(data, "report", run_id, "--html", str(stored))
    assert written.returncode == 0, written.stderr
    # the stored run renders exactly as the run did when it ended
    assert stored.read_text(encoding="utf-8") == ran.read_text(encoding="utf-8")
    flaky = next(t for t in payload["tests"] if t["name"] == FLAKY_DEMO)
    turn = flaky["divergence"]["turn"]

    async with chromium() as browser:
        for path, theme, width in ((ran, "light", 1200), (stored, "dark", 420)):
            page, log = await _open(browser, path, theme, width)
            await screenshot(page, "report", f"real-test-run-{path.stem}-{theme}")
            assert log.errors == [] and all(u.startswith("file:") for u in log.requests)
            rows = page.locator("table.rates tbody tr")
            names = [await r.get_attribute("data-test") for r in await rows.all()]
            assert set(names) == {FLAKY_DEMO, FAILING_DEMO, PASSING_DEMO}
            rate = page.locator(f'table.rates tr[data-test="{FLAKY_DEMO}"] td.rate')
            assert await rate.inner_text() == "3/5"
            failing = page.locator(f'table.rates tr[data-test="{FAILING_DEMO}"] td.rate')
            assert await failing.inner_text() == "0/5"
            passing = page.locator(f'table.rates tr[data-test="{PASSING_DEMO}"] td.rate')
            assert await passing.inner_text() == "5/5"
            card = page.locator(f'.card.test[data-test="{FAILING_DEMO}"]')
            assert "offer a discount code" in await card.locator(".cond.failing").inner_text()
            div = page.locator(f'.card.test[data-test="{FLAKY_DEMO}"] .divergence')
            assert f"part at turn {turn}" in await div.inner_text()
            assert "Hello Ava" in await div.locator(".side.pass .divergent").inner_text()
            assert "Hi there Ava" in await div.locator(".side.fail .divergent").inner_text()
            # the whole transcripts came along: turns before and after the one where they part
            assert await div.locator(".side.fail .turn").count() > 2
            await page.close()
