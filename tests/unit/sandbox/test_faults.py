"""Every fault the sandbox can inject behaves as docs/sandbox.md says, on a real socket."""

from __future__ import annotations

import itertools
import json
import time

import httpx2
import pytest

DEMO = "/v1/convai/agents/agent_demo_support"
BODY = {"simulation_specification": {"simulated_user_config": {"prompt": {"prompt": "[turns=6]"}}}}


@pytest.fixture
def sb(fresh_sandbox):
    return fresh_sandbox


def client(sb, **kw) -> httpx2.Client:
    return httpx2.Client(base_url=sb.base_url, headers=sb.headers(), **kw)


def lines_until_error(sb, *, path=DEMO + "/simulate-conversation/stream", headers=None):
    """Read a stream raw: the lines received, and the error that ended it (or None)."""
    got: list[bytes] = []
    buffer = b""
    error = None
    with client(sb, timeout=10) as c:
        try:
            with c.stream("POST", path, json=BODY, headers=headers or {}) as response:
                assert response.status_code == 200
                for chunk in response.iter_raw():
                    buffer += chunk
                    while b"\n" in buffer:
                        line, buffer = buffer.split(b"\n", 1)
                        got.append(line)
        except httpx2.HTTPError as exc:
            error = exc
    if buffer:
        got.append(buffer)
    return got, error


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [("http_500", 500, "something_went_wrong"), ("http_503", 503, "service_unavailable")],
)
def test_server_errors_have_the_real_body(sb, fault, status, code):
    agents = sb.status()["agents"]
    sb.arm_fault(fault, match={"method": "POST", "path_suffix": "/duplicate"}, times=2)
    with client(sb) as c:
        assert c.get(DEMO + "/link").status_code == 200  # not matched
        for _ in range(2):
            r = c.post(DEMO + "/duplicate", json={})
            assert r.status_code == status
            assert r.json()["detail"]["status"] == code
        assert c.post(DEMO + "/duplicate", json={}).status_code == 200  # spent after two
    assert [(r["path"].rsplit("/", 1)[-1], r["status"], r["fault"]) for r in sb.requests()] == [
        ("link", 200, None),
        ("duplicate", status, fault),
        ("duplicate", status, fault),
        ("duplicate", 200, None),
    ]
    assert sb.status()["agents"] == agents + 1  # only the last duplicate created an agent


def test_422_fault_in_fastapi_list_form(sb):
    sb.arm_fault("http_422", field="simulation_specification")
    with client(sb) as c:
        r = c.post(DEMO + "/simulate-conversation", json=BODY)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "simulation_specification"]


def test_502_is_an_html_gateway_page(sb):
    sb.arm_fault("http_502")
    with client(sb) as c:
        r = c.get(DEMO + "/link")
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")
    assert "Bad Gateway" in r.text


def test_rate_limit_with_and_without_retry_after(sb):
    sb.arm_fault("rate_limit", retry_after=3)
    sb.arm_fault("rate_limit", code="system_busy")
    with client(sb) as c:
        first, second, third = c.get(DEMO), c.get(DEMO), c.get(DEMO)
    assert first.status_code == 429 and first.headers["retry-after"] == "3"
    assert first.json()["detail"]["status"] == "too_many_concurrent_requests"
    assert second.status_code == 429 and "retry-after" not in second.headers
    assert second.json()["detail"]["status"] == "system_busy"
    assert third.status_code == 200


def test_skip_and_until_cleared(sb):
    sb.arm_fault("http_500", skip=1, times=None)
    with client(sb) as c:
        statuses = [c.get(DEMO).status_code for _ in range(4)]
        sb.clear_faults()
        statuses.append(c.get(DEMO).status_code)
    assert statuses == [200, 500, 500, 500, 200]


def test_drop_connection_before_the_response(sb):
    sb.arm_fault("drop_connection")
    with client(sb) as c:
        with pytest.raises(httpx2.RemoteProtocolError):
            c.get(DEMO + "/link")
        assert c.get(DEMO + "/link").status_code == 200  # the next one is fine
    assert [r["status"] for r in sb.requests()] == [None, 200]


def test_drop_connection_after_processing_loses_only_the_answer(sb):
    before = sb.status()["agents"]
    sb.arm_fault("drop_connection", after_processing=True, match={"path_suffix": "/duplicate"})
    with client(sb) as c, pytest.raises(httpx2.RemoteProtocolError):
        c.post(DEMO + "/duplicate", json={"name": "lost answer"})
    assert sb.status()["agents"] == before + 1  # the copy exists: retrying would make two


def test_drop_mid_stream_after_n_frames(sb):
    sb.arm_fault("drop_mid_stream", after_frames=2)
    lines, exc = lines_until_error(sb)
    assert isinstance(exc, httpx2.RemoteProtocolError)
    assert len(lines) == 3  # two whole frames, then half of the third
    for line in lines[:2]:
        json.loads(json.loads(line))
    with pytest.raises(ValueError):
        json.loads(lines[2])
    assert sb.status()["running_simulations"] == 0


def test_drop_mid_response_on_a_json_endpoint(sb):
    with client(sb) as c, pytest.raises(httpx2.RemoteProtocolError):
        c.get(DEMO, headers={"x-sandbox-fault": "drop_mid_stream"})


def test_malformed_frame(sb):
    sb.arm_fault("malformed_frame", after_frames=2)
    lines, exc = lines_until_error(sb)
    assert exc is None
    json.loads(json.loads(lines[1]))
    with pytest.raises(ValueError):
        json.loads(json.loads(lines[2]))
    assert json.loads(json.loads(lines[-1]))["analysis"] is not None
    with client(sb) as c:
        broken = c.get(DEMO + "/link", headers={"x-sandbox-fault": "malformed_frame"})
    assert broken.status_code == 200
    with pytest.raises(ValueError):
        broken.json()


def test_no_analysis(sb):
    sb.arm_fault("no_analysis", match={"path_suffix": "/stream"})
    lines, exc = lines_until_error(sb)
    assert exc is None and len(lines) == 7
    assert all(json.loads(json.loads(line))["analysis"] is None for line in lines)
    with client(sb) as c:
        r = c.post(
            DEMO + "/simulate-conversation", json=BODY, headers={"x-sandbox-fault": "no_analysis"}
        )
    assert r.status_code == 200 and "analysis" not in r.json()


def test_stall_before_the_response(sb):
    sb.arm_fault("stall", seconds=1.0)
    with client(sb, timeout=httpx2.Timeout(5, read=0.3)) as c:
        with pytest.raises(httpx2.ReadTimeout):
            c.get(DEMO + "/link")
        # the same stall, waited out
        sb.arm_fault("stall", seconds=0.3)
        started = time.monotonic()
        assert client(sb, timeout=5).get(DEMO + "/link").status_code == 200
        assert time.monotonic() - started >= 0.25


def test_stall_mid_stream(sb):
    sb.arm_fault("stall", seconds=0.6, after_frames=2)
    arrivals = []
    with (
        client(sb, timeout=10) as c,
        c.stream("POST", DEMO + "/simulate-conversation/stream", json=BODY) as r,
    ):
        for line in r.iter_lines():
            arrivals.append((time.monotonic(), line))
    assert len(arrivals) == 8
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(arrivals)]
    assert gaps[1] >= 0.5  # between frame 2 and 3
    assert max(gaps) == gaps[1]


def test_huge_response(sb):
    size = 3_000_000
    sb.arm_fault("huge_response", bytes=size, match={"path_suffix": "/stream"})
    lines, exc = lines_until_error(sb)
    assert exc is None
    assert max(len(line) for line in lines) > size
    frames = [json.loads(json.loads(line)) for line in lines]
    assert frames[-1]["analysis"] is not None
    with client(sb, timeout=10) as c:
        link = c.get(DEMO + "/link", headers={"x-sandbox-fault": f"huge_response; bytes={size}"})
        whole = c.post(
            DEMO + "/simulate-conversation",
            json=BODY,
            headers={"x-sandbox-fault": f"huge_response; bytes={size}"},
        )
    assert len(link.content) > size and link.json()["agent_id"] == "agent_demo_support"
    assert len(whole.content) > size
    assert len(whole.json()["simulated_conversation"][-1]["message"]) == size


def test_header_fault_applies_to_one_request(sb):
    with client(sb) as c:
        r = c.get(DEMO, headers={"x-sandbox-fault": "rate_limit; retry_after=7"})
        assert r.status_code == 429 and r.headers["retry-after"] == "7"
        assert c.get(DEMO).status_code == 200
        bad = c.get(DEMO, headers={"x-sandbox-fault": "explode"})
        assert bad.status_code == 400 and "unknown fault" in bad.json()["detail"]["message"]


@pytest.mark.parametrize(
    "spec",
    [
        {"fault": "nope"},
        {"fault": "stall", "seconds": -1},
        {"fault": "http_500", "retry_after": 3},
        {"fault": "rate_limit", "code": "made_up"},
        {"fault": "http_500", "times": 0},
        {"fault": "http_500", "match": {"host": "x"}},
        {"fault": "drop_mid_stream", "after_frames": "two"},
    ],
)
def test_invalid_fault_specs_are_refused(sb, spec):
    with client(sb) as c:
        r = c.post("/_sandbox/faults", json=spec)
        assert r.status_code == 422 and r.json()["detail"]["status"] == "invalid_fault"
        assert c.get("/_sandbox/faults").json() == {"faults": []}


def test_admin_needs_the_key_and_is_not_logged(sb):
    assert httpx2.get(sb.base_url + "/_sandbox/requests").status_code == 401
    with client(sb) as c:
        c.get("/_sandbox/faults")
        c.get(DEMO)
    assert [r["path"] for r in sb.requests()] == [DEMO]
    sb.clear_requests()
    assert sb.requests() == []
