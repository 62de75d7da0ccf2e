"""The MCP App viewer in a real headless Chromium, with the test playing the host.

The server is real (stdio subprocess, sandbox over loopback HTTP): the tools carry
`_meta.ui.resourceUri`, the viewer is read with resources/read, and the host page hands the view
a real simulate_conversation result; the view then loads the transcript with tools/call
get_simulation through the host, which forwards it to the real server. A test run is a real
run_tests result (demo tests with fixed ids, so the flaky draws are the same every time, and a
live baseline), its transcripts loaded with the real get_test_results through the host.
Screenshots: test-artifacts/viewer/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from agents_mcp.report import VIEWER_URI, viewer_html
from tests.support.apps_host import HOST_HTML, setup
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

pytestmark = pytest.mark.anyio

ARGS = {
    "agent_id": "agent_demo_support",
    "user_prompt": "A caller whose boots arrived damaged [turns=12]",
    "criteria": [
        {"id": "asked_order_number", "goal": "The agent asks for the order number first"},
        {
            "id": "offers_callback",
            "name": "Offers a callback",
            "goal": "The agent offers a callback",
        },
    ],
    "tool_mocks": {"lookup_order": {"return": "Order service timed out (503)", "is_error": True}},
}


def wire(result: Any) -> dict[str, Any]:
    """A CallToolResult as the host receives it on the wire (camelCase)."""
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


async def show(browser: Any, host_setup: dict[str, Any], *, theme: str, width: int, call: Any):
    page, log = await new_page(browser, theme=theme, width=width)
    await page.expose_function("mcpCallTool", call)
    await page.set_content(HOST_HTML)
    await page.evaluate("(s) => window.startView(s)", host_setup)
    frame = page.frame_locator("#view")
    await frame.locator("body[data-state=ready]").wait_for(timeout=10_000)
    return page, frame, log


async def fitted(page: Any, frame: Any) -> None:
    """Wait until the host has sized the iframe to the view's content (from size-changed)."""
    height = await frame.locator("html").evaluate("e => e.scrollHeight")
    await page.wait_for_function(
        "h => document.getElementById('view').offsetHeight >= h", arg=height, timeout=5_000
    )


async def test_tools_name_the_viewer_and_the_server_serves_it(sandbox: Any, tmp_path: Path) -> None:
    async with stdio_server(sandbox_env(sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        tools = {t.name: t for t in (await client.list_tools()).tools}
        resources = (await client.list_resources()).resources
        read = await client.read_resource(VIEWER_URI)
        extensions = client.server_capabilities.extensions or {}
    for name in ("simulate_conversation", "get_simulation"):
        assert tools[name].meta == {"ui": {"resourceUri": VIEWER_URI}}, name
    assert tools["delete_agent"].meta is None
    assert [(str(r.uri), r.mime_type) for r in resources if str(r.uri) == VIEWER_URI] == [
        (VIEWER_URI, APP_MIME_TYPE)
    ]
    assert read.contents[0].mime_type == APP_MIME_TYPE
    assert read.contents[0].text == viewer_html()
    assert EXTENSION_ID in extensions


async def test_viewer_shows_a_real_simulation_and_loads_its_transcript_through_the_host(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    require_browser()
    async with stdio_server(sandbox_env(fresh_sandbox, tmp_path), log_dir=tmp_path) as (client, _):
        html = (await client.read_resource(VIEWER_URI)).contents[0].text
        result = await client.call_tool("simulate_conversation", ARGS)
        assert not result.is_error, text_of(result)
        summary = result.structured_content
        reasons = {  # "- MARK id — why" lines of the text; the structured content has no prose
            line.split(" — ")[0].split(" ")[-1]: line.split(" — ", 1)[1]
            for line in text_of(result).splitlines()
            if line.startswith("- ") and " — " in line
        }
        assert set(reasons) == {c["id"] for c in summary["criteria"]}
        calls: list[tuple[str, dict[str, Any]]] = []

        async def call_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
            calls.append((name, arguments))
            return wire(await client.call_tool(name, arguments))

        async with chromium() as browser:
            for theme in THEMES:
                for size, width in VIEWPORTS.items():
                    calls.clear()
                    host = setup(html, wire(result), theme=theme, arguments=ARGS)
                    page, frame, log = await show(
                        browser, host, theme=theme, width=width, call=call_tool
                    )
                    timeline = frame.locator(".transcript .timeline")
                    await timeline.wait_for(timeout=20_000)
                    await fitted(page, frame)  # the view reported its grown size
                    shot = await screenshot(page, "viewer", f"simulation-{theme}-{size}")
                    if (theme, size) == ("light", "wide"):
                        keep_image(shot, "viewer-simulation.png")
                    assert log.errors == [], log.errors  # includes CSP violations
                    assert log.requests == []  # the view fetched nothing

                    # the handshake, in order, and the transcript fetched through the host
                    sent = await page.evaluate("window.hostLog")
                    methods = [m.get("method") for m in sent]
                    assert methods[:2] == ["ui/initialize", "ui/notifications/initialized"]
                    assert sent[0]["params"]["protocolVersion"] == "2026-01-26"
                    sid = summary["simulation_id"]
                    first = (
                        "get_simulation",
                        {"simulation_id": sid, "detail": "transcript", "page": 1},
                    )
                    assert calls[0] == first
                    assert "ui/notifications/size-changed" in methods

                    # what a person sees: outcome, verdicts, every turn, the failed tool marked
                    header = await frame.locator(".simulation .meta").inner_text()
                    assert f"outcome: {summary['outcome']}" in header
                    for crit in summary["criteria"]:
                        item = frame.locator(f'.criteria li[data-criterion="{crit["id"]}"]')
                        word = {"success": "passed", "failure": "failed"}[crit["result"]]
                        shown = await item.inner_text()
                        # the verdict from the structured content, the reason from the text
                        assert word in shown and reasons[crit["id"]] in shown
                    failed_calls = await frame.locator(".tool-errors").inner_text()
                    assert "turn " in failed_calls
                    assert "lookup_order: Order service timed out (503)" in failed_calls
                    assert await timeline.locator(".turn").count() == summary["turns"]["total"]
                    for err in summary["tools"]["errors"]:
                        turn = timeline.locator(f'.turn[data-turn="{err["turn"]}"]')
                        assert "failed" in (await turn.get_attribute("class") or "")
                        marked = await turn.locator(".tool.result.bad").inner_text()
                        assert f"FAILED {err['tool']}" in marked

                    # the host's theme: its theme variables and light/dark choice are applied
                    bg = await frame.locator("body").evaluate(
                        "b => getComputedStyle(b).backgroundColor"
                    )
                    expected = "rgb(31, 30, 29)" if theme == "dark" else "rgb(253, 252, 249)"
                    assert bg == expected
                    await page.close()

            # a host that cannot call tools: key turns and the exact call, no request made
            calls.clear()
            host = setup(html, wire(result), theme="light", server_tools=False)
            page, frame, _ = await show(browser, host, theme="light", width=700, call=call_tool)
            transcript = await frame.locator(".transcript").inner_text()
            assert 'detail="transcript"' in transcript and calls == []
            await page.close()

            # a transcript page handed over as the result is rendered as it is
            page_result = await client.call_tool(
                "get_simulation",
                {"simulation_id": summary["simulation_id"], "detail": "transcript"},
            )
            host = setup(html, wire(page_result), theme="dark")
            page, frame, _ = await show(browser, host, theme="dark", width=700, call=call_tool)
            turns = frame.locator(".transcript .timeline .turn")
            assert await turns.count() == len(page_result.structured_content["turns"])
            assert calls == []
            await page.close()


FLAKY = "Gives the new delivery date (flaky)"  # test_demo_delivery_date_flaky: [flaky=0.6]
DISCOUNT = "Late parcel: goodwill discount code"  # [requires: offer a discount code]
RUN_ARGS = {
    "agent_id": "agent_demo_support",
    "tests": ["test_demo_delivery_date_flaky", "test_demo_late_parcel_discount"],
    "repeat": 5,
    "agent_config_override": {
        "conversation_config": {
            "agent": {
                "prompt": {
                    "prompt": "You are Ava. Always offer a discount code to unhappy customers."
                }
            }
        }
    },
    "baseline": {},  # the stored agent, run live alongside
    "confirm": True,
}


async def test_viewer_shows_a_real_test_run_and_loads_transcripts_through_the_host(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    require_browser()
    env = sandbox_env(fresh_sandbox, tmp_path, AGENTS_MCP_POLL_SECONDS="0.1")
    async with stdio_server(env, log_dir=tmp_path) as (client, _):
        tools = {t.name: t for t in (await client.list_tools()).tools}
        for name in ("run_tests", "get_test_results"):
            assert tools[name].meta == {"ui": {"resourceUri": VIEWER_URI}}, name
        html = (await client.read_resource(VIEWER_URI)).contents[0].text
        result = await client.call_tool("run_tests", RUN_ARGS)
        assert not result.is_error, text_of(result)
        payload = result.structured_content
        assert payload["status"] == "done" and payload["baseline"]["source"] == "live"
        tests = {t["name"]: t for t in payload["tests"]}
        flaky, fixed = tests[FLAKY], tests[DISCOUNT]
        assert flaky["flaky"] and flaky["divergence"] is not None, flaky
        assert fixed["change"] == "improved", fixed
        run_id, turn = payload["run_id"], flaky["divergence"]["turn"]
        failing_run = flaky["divergence"]["failing_run"]
        page_result = await client.call_tool(
            "get_test_results", {"run_id": run_id, "detail": "transcript", "test": FLAKY}
        )
        # the view fetches pages until the live baseline's turns start (they come last)
        fetches: list[tuple[str, dict[str, Any]]] = []
        for n in range(1, page_result.structured_content["pages"] + 1):
            args = {"run_id": run_id, "detail": "transcript", "test": FLAKY, "page": n}
            fetches.append(("get_test_results", args))
            shown = (await client.call_tool("get_test_results", args)).structured_content
            if shown["turns"][-1]["side"] == "baseline":
                break
        assert len(fetches) < page_result.structured_content["pages"]
        calls: list[tuple[str, dict[str, Any]]] = []

        async def call_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
            calls.append((name, arguments))
            return wire(await client.call_tool(name, arguments))

        async with chromium() as browser:
            for theme in THEMES:
                for size, width in VIEWPORTS.items():
                    calls.clear()
                    host = setup(html, wire(result), theme=theme, arguments=RUN_ARGS)
                    page, frame, log = await show(
                        browser, host, theme=theme, width=width, call=call_tool
                    )
                    card = frame.locator(f'.card.test[data-test="{FLAKY}"]')
                    # the flaky test's runs are fetched through the host from the real server
                    # and shown side by side from the turn where they part
                    fail_side = card.locator(".divergence .side.fail")
                    await fail_side.locator(".turn").nth(2).wait_for(timeout=10_000)
                    await fitted(page, frame)
                    shot = await screenshot(page, "viewer", f"test-run-{theme}-{size}")
                    if (theme, size) == ("light", "wide"):
                        keep_image(shot, "viewer-test-run.png")
                    assert calls == fetches  # every page of the test's transcripts
                    assert log.errors == [] and log.requests == []
                    rows = frame.locator("table.rates tbody tr")
                    names = [await r.get_attribute("data-test") for r in await rows.all()]
                    assert set(names) == {FLAKY, DISCOUNT}
                    flaky_row = frame.locator(f'table.rates tr[data-test="{FLAKY}"]')
                    assert "flaky" in await flaky_row.inner_text()
                    assert flaky["rate"] in await flaky_row.inner_text()
                    fixed_row = frame.locator(f'table.rates tr[data-test="{DISCOUNT}"]')
                    assert "0/5 → 5/5" in await fixed_row.inner_text()
                    assert "improved" in await fixed_row.inner_text()
                    failing = await card.locator(".cond.failing").inner_text()
                    assert "expected delivery date" in failing
                    div = await card.locator(".divergence").inner_text()
                    assert f"part at turn {turn}" in div
                    divergent = await card.locator(".side.fail .divergent").inner_text()
                    assert f"#{turn}" in divergent
                    assert f"run {failing_run}" in (await fail_side.inner_text()).lower()
                    body = frame.locator("body")
                    bg = await body.evaluate("b => getComputedStyle(b).backgroundColor")
                    assert (luminance(bg) < 0.3) if theme == "dark" else (luminance(bg) > 0.8)
                    await page.close()

            # a transcript result of the real get_test_results, handed over as it is
            host = setup(html, wire(page_result), theme="light")
            page, frame, log = await show(browser, host, theme="light", width=700, call=call_tool)
            runs = {(t["side"], t["run"]) for t in page_result.structured_content["turns"]}
            assert await frame.locator(".timeline[data-run]").count() == len(runs) > 0
            candidate = {run for side, run in runs if side == "candidate"}
            assert await frame.locator('.timeline[data-side="candidate"]').count() == len(candidate)
            assert log.errors == []
            await page.close()
            # the last page holds the live baseline's runs: shown apart, headed as such
            args = {"run_id": run_id, "detail": "transcript", "test": FLAKY}
            last = await client.call_tool(
                "get_test_results", {**args, "page": page_result.structured_content["pages"]}
            )
            host = setup(html, wire(last), theme="light")
            page, frame, log = await show(browser, host, theme="light", width=700, call=call_tool)
            based = frame.locator('.timeline[data-side="baseline"]')
            assert await based.count() == len({t["run"] for t in last.structured_content["turns"]})
            assert "Baseline run " in await frame.locator(".test-transcript").inner_text()
            assert log.errors == []
            await page.close()
