"""Tool-call emulation: the call entry (webhook/client/system details), parameters drawn from
the tool's schema, and the result: the mock resolver, the request's mocks, else a plausible default.
"""

from __future__ import annotations

import json
from typing import Any

from agents_mcp.api import models
from agents_mcp.jsontypes import JSONObject
from agents_mcp.sandbox.engine.agent_doc import ToolSpec, _list, _str
from agents_mcp.sandbox.engine.records import SharedState, _Event
from agents_mcp.sandbox.engine.text import _text
from agents_mcp.sandbox.engine.vocabulary import NUMBERS


class ToolCalls(SharedState):
    """Emulates the agent's tool calls and their results."""

    def _call(self, tool: ToolSpec, role: str) -> tuple[list[JSONObject], str, bool]:
        self.request_counter += 1
        request_id = f"{tool.name}_{self._token(32)}"
        params = self._params(tool)
        params_json = json.dumps(params)
        details: JSONObject | None
        if tool.kind == "webhook":
            path_params = {n: _text(params[n]) for n, _, where in tool.params if where == "path"}
            query = {n: _text(params[n]) for n, _, where in tool.params if where == "query"}
            body = {n: params[n] for n, _, where in tool.params if where == "body"}
            url = tool.url
            for key, value in path_params.items():
                url = url.replace("{" + key + "}", value)
            details = {
                "type": "webhook",
                "method": tool.method,
                "url": url,
                "headers": {"Content-Type": "application/json"} if body else {},
                "path_params": path_params,
                "query_params": query,
                "body": json.dumps(body) if body else None,
            }
        elif tool.kind == "client":
            details = {"type": "client", "parameters": params_json}
        else:
            details = None
        call = models.ToolCall(
            type=tool.kind,
            request_id=request_id,
            tool_name=tool.name,
            params_as_json=params_json,
            tool_has_been_called=False,
            tool_details=details,
        )
        resolved = self.resolver(tool.name, params) if self.resolver else None
        result, is_error = resolved if resolved is not None else self._result(tool, role)
        tool_result = models.ToolResult(
            request_id=request_id,
            tool_name=tool.name,
            result_value=result,
            is_error=is_error,
            tool_has_been_called=True,
            tool_latency_secs=round(self.rng.uniform(0.05, 1.2), 3),
            dynamic_variable_updates=[],
            type=tool.kind,
        )
        self.state.events.append(_Event(tool.name, tool.kind, is_error, role))
        entries = [
            self._turn("agent", None, tool_calls=[call.model_dump(mode="json")]),
            self._turn("agent", None, tool_results=[tool_result.model_dump(mode="json")]),
        ]
        return entries, result, is_error

    def _result(self, tool: ToolSpec, role: str) -> tuple[str, bool]:
        mock = self.mocks.get(tool.name)
        if mock is not None:
            is_error = bool(mock.default_is_error)
            if mock.default_return_value is not None:
                return self.subst(mock.default_return_value), is_error
            if is_error:
                return "Error: the tool returned an error", True
        if tool.kind == "client":
            return "Tool Called.", False
        return json.dumps(self._default_result(tool, role)), False

    def _default_result(self, tool: ToolSpec, role: str) -> JSONObject:
        s, name = self.slots, f"{tool.name} {tool.description}".lower()
        if "avail" in name:
            return {"available": True, "date": s["date"], "slots": [s["time"], "9:00 pm"]}
        if "order" in name and role in ("lookup", "extra"):
            return {
                "order_id": s["order_id"],
                "status": "shipped",
                "carrier": "UPS",
                "estimated_delivery": s["date"],
                "items": [s["item"]],
            }
        if "refund" in name:
            return {
                "refund_id": f"RF-{self.rng.randint(10000, 99999)}",
                "status": "approved",
                "amount": s["amount"],
            }
        if any(w in name for w in ("book", "reserv")):
            return {
                "confirmation_code": f"BK-{self.rng.randint(1000, 9999)}",
                "status": "confirmed",
            }
        if any(w in name for w in ("account", "customer", "user", "profile")):
            return {"customer_name": s["name"], "email": s["email"], "status": "active"}
        if role == "lookup":
            return {"status": "found", "reference": s["ticket"]}
        return {"status": "success", "reference": s["ticket"]}

    def _params(self, tool: ToolSpec) -> JSONObject:
        out: JSONObject = {}
        for name, schema, _ in tool.params:
            out[name] = self._param_value(name, schema)
        return out

    def _param_value(self, name: str, schema: JSONObject) -> Any:
        if isinstance(schema.get("constant_value"), (str, int, float, bool)):
            return schema["constant_value"]
        var = schema.get("dynamic_variable")
        if isinstance(var, str) and var in self.vars:
            return self.vars[var]
        kind = _str(schema.get("type")) or "string"
        if _list(schema.get("enum")):
            return self.rng.choice(schema["enum"])
        low = f"{name} {_str(schema.get('description'))}".lower()
        s = self.slots
        if kind == "boolean":
            return True
        if kind in ("integer", "number"):
            if any(w in low for w in ("party", "guest", "people", "size")):
                return NUMBERS.index(s["party"]) + 1
            if "amount" in low or "price" in low:
                return (
                    float(s["amount"].lstrip("$"))
                    if kind == "number"
                    else int(float(s["amount"].lstrip("$")))
                )
            return self.rng.randint(1, 5)
        if kind == "object":
            return {}
        if kind == "array":
            return []
        for words, slot in (
            (("order",), "order_id"),
            (("email", "mail"), "email"),
            (("name",), "name"),
            (("date", "day"), "date"),
            (("time",), "time"),
            (("item", "product"), "item"),
            (("ticket", "reference"), "ticket"),
        ):
            if any(w in low for w in words):
                return s[slot]
        if any(w in low for w in ("reason", "issue", "summary", "description", "note")):
            return self.fill(self.topic.title)
        return self.fill(self.topic.title)

    def _system_end_call(self) -> list[JSONObject]:
        request_id = f"end_call_{self._token(32)}"
        call = models.ToolCall(
            type="system",
            request_id=request_id,
            tool_name="end_call",
            params_as_json=json.dumps({"reason": "conversation completed"}),
            tool_has_been_called=False,
            tool_details=None,
        )
        payload = {
            "result_type": "end_call_success",
            "status": "success",
            "reason": "conversation completed",
            "message": None,
        }
        result = models.ToolResult(
            request_id=request_id,
            tool_name="end_call",
            result_value=json.dumps(payload),
            is_error=False,
            tool_has_been_called=True,
            tool_latency_secs=0.0,
            dynamic_variable_updates=[],
            type="system",
            result=payload,
        )
        return [
            self._turn("agent", None, tool_calls=[call.model_dump(mode="json")]),
            self._turn("agent", None, tool_results=[result.model_dump(mode="json")]),
        ]
