"""A handle on a running sandbox for tests: where it is, its key, and its test controls.

    def test_x(sandbox):             # session-scoped server; call sandbox.reset() when needed
        sandbox.arm_fault("http_500", match={"path_suffix": "/duplicate"})
        ...
        assert [r["status"] for r in sandbox.requests()] == [500]

`fresh_sandbox` (function-scoped) is the same handle, reset before and after the test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx2

if TYPE_CHECKING:
    from agents_mcp.sandbox import SandboxServer


class SandboxHandle:
    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.base_url = server.base_url
        self.api_key = server.api_key
        self._http = httpx2.Client(
            base_url=self.base_url, headers={"xi-api-key": self.api_key}, timeout=10
        )

    def __repr__(self) -> str:
        return f"SandboxHandle({self.base_url!r})"

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        response = self._http.request(method, path, **kw)
        response.raise_for_status()
        return response.json()

    def arm_fault(
        self,
        fault: str,
        *,
        match: dict[str, str] | None = None,
        times: int | None = 1,
        skip: int = 0,
        **params: Any,
    ) -> dict[str, Any]:
        """Arm `fault` for the next `times` matching requests (None: until reset)."""
        body = {"fault": fault, "match": match or {}, "times": times, "skip": skip, **params}
        return self._call("POST", "/_sandbox/faults", json=body)["armed"]

    def clear_faults(self) -> None:
        self._call("DELETE", "/_sandbox/faults")

    def requests(self) -> list[dict[str, Any]]:
        """The API requests received since the last reset: {method, path, status, fault}."""
        return self._call("GET", "/_sandbox/requests")

    def clear_requests(self) -> None:
        self._call("DELETE", "/_sandbox/requests")

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change turn_delay / max_concurrent until the next reset."""
        return self._call("POST", "/_sandbox/config", json=settings)

    def status(self) -> dict[str, Any]:
        return self._call("GET", "/_sandbox/config")

    def reset(self, *, agents: bool = False) -> None:
        """Clear faults and the request log, restore the settings (and the demo agents if asked)."""
        self._call("POST", "/_sandbox/reset", json={"agents": agents})

    def headers(self) -> dict[str, str]:
        return {"xi-api-key": self.api_key}

    def close(self) -> None:
        self._http.close()
