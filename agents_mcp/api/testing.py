"""The agent-testing API (tests, runs, invocations) and the workspace tool list, as a mixin of
AgentsAPI that sends through the same `_call` machinery (retries, error mapping, redaction).

Retry rules, as for the rest of the client: creating a test, running tests and resubmitting
are never sent again once they may have reached the server (that would create a second test or
pay twice): only a 429 or a connection that never opened is retried. Reads, deletes, updates (a
PUT of the same body) and cancels are idempotent and are also retried on a 5xx or a broken
connection. Every id is checked before anything is sent and percent-encoded into the path.
Models live in testing_models.py and are imported on first use (they pull in the generated
request models, which the server's start-up does not need).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TypeAlias, TypeVar
from urllib.parse import quote

from agents_mcp.api.errors import InvalidIdError
from agents_mcp.api.failures import Operation, clip
from agents_mcp.jsontypes import JSON, JSONObject

if TYPE_CHECKING:
    import httpx2
    from pydantic import BaseModel

    from agents_mcp.api.testing_models import (
        InvocationsPage,
        TestDetails,
        TestInvocation,
        TestsPage,
        ToolInfo,
    )

    _M = TypeVar("_M", bound=BaseModel)

# Query parameters as the client sends them (booleans already spelled "true"/"false")
QueryParams: TypeAlias = Mapping[str, str | int | list[str]]

__all__ = ["CONVAI_PATH", "TestingAPI", "validate_id"]

CONVAI_PATH = "/v1/convai"
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_INVOCATION_BYTES = 32 * 1024 * 1024  # an invocation carries whole transcripts
_LIST_BYTES = 8 * 1024 * 1024
MAX_TOOL_PAGES = 50  # 100 tools a page: 5,000 tools at most, then stop


def validate_id(value: object, what: str) -> str:
    """A test, invocation or run id if it is well formed; else an error, nothing sent."""
    if isinstance(value, str) and _ID.fullmatch(value):
        return value
    shown = repr(clip(value, 60)) if isinstance(value, str) else type(value).__name__
    raise InvalidIdError(shown, subject=what)


def _params(**values: str | int | None) -> dict[str, str | int | list[str]]:
    """Query parameters without the unset ones (booleans as the API spells them)."""
    out: dict[str, str | int | list[str]] = {}
    for key, value in values.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else value
    return out


class TestingAPI:
    """Agent-testing operations; mixed into AgentsAPI, which provides the machinery below."""

    __test__ = False

    if TYPE_CHECKING:  # provided by AgentsAPI
        base_url: str
        max_response_bytes: int

        async def _call(
            self,
            op: Operation,
            method: str,
            url: str,
            *,
            json: JSON = None,
            params: QueryParams | None = None,
            timeouts: httpx2.Timeout | None = None,
            limit: int = ...,
            into: bytearray | None = None,
        ) -> bytes: ...

        def _validated(
            self, op: Operation, model: type[BaseModel], value: BaseModel | Mapping[str, JSON]
        ) -> JSONObject: ...

        def _parse(self, op: Operation, model: type[_M], body: bytes) -> _M: ...

    def _convai_url(self, *segments: str) -> str:
        return f"{self.base_url}{CONVAI_PATH}/" + "/".join(quote(s, safe="") for s in segments)

    # --- tests ---------------------------------------------------------------------------------

    async def create_test(self, body: BaseModel | Mapping[str, JSON]) -> str:
        """Create a test (simulation, llm or tool); returns its id. Never sent twice."""
        from agents_mcp.api.testing_models import CreatedTest, TestBody

        op = Operation("create_test", "", idempotent=False)
        payload = self._validated(op, TestBody, body)
        answer = await self._call(
            op, "POST", self._convai_url("agent-testing", "create"), json=payload
        )
        return self._parse(op, CreatedTest, answer).id

    async def get_test(self, test_id: str) -> TestDetails:
        from agents_mcp.api.testing_models import TestDetails

        op = Operation("get_test", validate_id(test_id, "test"), idempotent=True)
        answer = await self._call(op, "GET", self._convai_url("agent-testing", test_id))
        return self._parse(op, TestDetails, answer)

    async def update_test(self, test_id: str, body: BaseModel | Mapping[str, JSON]) -> TestDetails:
        """Replace a test's body (the same body twice is the same test: safe to resend)."""
        from agents_mcp.api.testing_models import TestBody, TestDetails

        op = Operation("update_test", validate_id(test_id, "test"), idempotent=True)
        payload = self._validated(op, TestBody, body)
        answer = await self._call(
            op, "PUT", self._convai_url("agent-testing", test_id), json=payload
        )
        return self._parse(op, TestDetails, answer)

    async def delete_test(self, test_id: str) -> None:
        op = Operation("delete_test", validate_id(test_id, "test"), idempotent=True)
        await self._call(op, "DELETE", self._convai_url("agent-testing", test_id))

    async def list_tests(
        self,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
        search: str | None = None,
        types: Sequence[str] | None = None,
        parent_folder_id: str | None = None,
    ) -> TestsPage:
        """One page of the workspace's tests (``next_cursor`` fetches the next)."""
        from agents_mcp.api.testing_models import TestsPage

        op = Operation("list_tests", "", idempotent=True)
        params = _params(
            cursor=cursor, page_size=page_size, search=search, parent_folder_id=parent_folder_id
        )
        if types:
            params["types"] = list(types)
        answer = await self._call(
            op, "GET", self._convai_url("agent-testing"), params=params, limit=_LIST_BYTES
        )
        return self._parse(op, TestsPage, answer)

    # --- runs and invocations ------------------------------------------------------------------

    async def run_tests(
        self,
        agent_id: str,
        *,
        tests: list[str],
        repeat_count: int | None = None,
        branch_id: str | None = None,
        name: str | None = None,
        agent_config_override: Mapping[str, JSON] | None = None,
    ) -> TestInvocation:
        """Start the tests on the agent; every run starts `pending`. Never sent twice."""
        from agents_mcp.api.client import validate_agent_id
        from agents_mcp.api.testing_models import RunTestsRequest, TestInvocation

        op = Operation("run_tests", validate_agent_id(agent_id), idempotent=False)
        request = {
            "tests": [{"test_id": validate_id(t, "test")} for t in tests],
            "repeat_count": repeat_count,
            "branch_id": branch_id,
            "name": name,
            "agent_config_override": agent_config_override,
        }
        payload = self._validated(op, RunTestsRequest, request)
        answer = await self._call(
            op,
            "POST",
            self._convai_url("agents", agent_id, "run-tests"),
            json=payload,
            limit=_INVOCATION_BYTES,
        )
        return self._parse(op, TestInvocation, answer)

    async def get_invocation(self, invocation_id: str) -> TestInvocation:
        from agents_mcp.api.testing_models import TestInvocation

        op = Operation("get_invocation", validate_id(invocation_id, "invocation"), idempotent=True)
        answer = await self._call(
            op,
            "GET",
            self._convai_url("test-invocations", invocation_id),
            limit=min(_INVOCATION_BYTES, self.max_response_bytes),
        )
        return self._parse(op, TestInvocation, answer)

    async def get_invocation_compact(
        self, invocation_id: str, previous: Mapping[str, JSON] | None = None
    ) -> JSONObject:
        """GET an invocation in its compact form (api/compact_invocation.py: the API's JSON with
        each run's transcript packed; the finished runs unchanged since `previous` reused).

        A suite of 1,000 runs is megabytes: decoding gives the event loop a turn between batches
        of runs. The body is checked as `get_invocation` checks it, with the same errors; a body
        the compact decoder refuses but `get_invocation` accepts is returned in full."""
        import anyio
        from pydantic import ValidationError

        from agents_mcp.api import compact_invocation
        from agents_mcp.api.testing_models import TestInvocation

        op = Operation("get_invocation", validate_id(invocation_id, "invocation"), idempotent=True)
        body = bytearray()  # the body once (no chunks and their join): 16 MB for 1,000 runs
        await self._call(
            op,
            "GET",
            self._convai_url("test-invocations", invocation_id),
            limit=min(_INVOCATION_BYTES, self.max_response_bytes),
            into=body,
        )
        out = compact_invocation.Decoded()
        try:
            for _ in compact_invocation.decode_steps(body, previous, out):
                await anyio.lowlevel.checkpoint()
            return out.invocation
        except (ValueError, ValidationError):  # msgspec's errors are ValueErrors too
            pass
        # refused: parse it whole, as get_invocation does (its error, or the full document)
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        head = bytes(body[:1024])
        del body
        try:
            TestInvocation.model_validate(data)
        except ValidationError:
            self._parse(op, TestInvocation, head)  # raises the same error as get_invocation
            raise
        if not isinstance(data, dict):  # pragma: no cover - the model accepts only objects
            raise TypeError("an invocation is a JSON object")
        return data

    async def list_invocations(
        self,
        *,
        agent_id: str | None = None,
        test_id: str | None = None,
        branch_id: str | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
    ) -> InvocationsPage:
        from agents_mcp.api.testing_models import InvocationsPage

        op = Operation("list_invocations", "", idempotent=True)
        params = _params(
            agent_id=agent_id,
            test_id=test_id,
            branch_id=branch_id,
            page_size=page_size,
            cursor=cursor,
            start_time=start_time,
            end_time=end_time,
        )
        answer = await self._call(
            op, "GET", self._convai_url("test-invocations"), params=params, limit=_LIST_BYTES
        )
        return self._parse(op, InvocationsPage, answer)

    async def cancel_invocation(self, invocation_id: str) -> None:
        """Cancel every pending run of the invocation (cancelling twice is harmless)."""
        op = Operation(
            "cancel_invocation", validate_id(invocation_id, "invocation"), idempotent=True
        )
        await self._call(op, "POST", self._convai_url("test-invocations", invocation_id, "cancel"))

    async def resubmit_invocation(
        self,
        invocation_id: str,
        *,
        test_run_ids: list[str],
        agent_id: str,
        agent_config_override: Mapping[str, JSON] | None = None,
        branch_id: str | None = None,
    ) -> JSON:
        """Run some runs of an invocation again (the answer is untyped upstream). Never sent
        twice."""
        from agents_mcp.api.client import _json_or_none, validate_agent_id
        from agents_mcp.api.testing_models import ResubmitRequest

        op = Operation(
            "resubmit_invocation", validate_id(invocation_id, "invocation"), idempotent=False
        )
        request = {
            "test_run_ids": [validate_id(r, "test run") for r in test_run_ids],
            "agent_id": validate_agent_id(agent_id),
            "agent_config_override": agent_config_override,
            "branch_id": branch_id,
        }
        payload = self._validated(op, ResubmitRequest, request)
        answer = await self._call(
            op,
            "POST",
            self._convai_url("test-invocations", invocation_id, "resubmit"),
            json=payload,
        )
        return _json_or_none(answer)

    # --- tools ---------------------------------------------------------------------------------

    async def list_tools(
        self, *, search: str | None = None, used_by_agent_id: str | None = None
    ) -> list[ToolInfo]:
        """Every workspace tool as (id, name), all pages (tests key tools by id);
        ``used_by_agent_id``: only the tools that agent refers to."""
        from agents_mcp.api.testing_models import ToolsPage

        op = Operation("list_tools", "", idempotent=True)
        tools: list[ToolInfo] = []
        cursor: str | None = None
        for _ in range(MAX_TOOL_PAGES):
            params = _params(
                page_size=100, cursor=cursor, search=search, used_by_agent_id=used_by_agent_id
            )
            answer = await self._call(
                op, "GET", self._convai_url("tools"), params=params, limit=_LIST_BYTES
            )
            page = self._parse(op, ToolsPage, answer)
            tools += page.infos()
            cursor = page.next_cursor
            if not page.has_more or not cursor:
                break
        return tools
