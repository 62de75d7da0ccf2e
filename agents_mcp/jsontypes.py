"""The JSON type aliases: the one place that says "this value is arbitrary JSON".

Rules: `JSONObject` is a JSON object read loosely by key (an agent document, a request body, a
transcript entry, a payload built for the model); `JSON` is any JSON value (what `json.loads`
returns, a tool's result value). Both stay `Any`-based on purpose: the data really is arbitrary,
and code narrows it where it reads it. Everything with a known shape gets a real type instead
(a pydantic model, a TypedDict, a dataclass). Import-free: safe to import from anywhere.
"""

from typing import Any, TypeAlias

JSON: TypeAlias = Any
JSONObject: TypeAlias = dict[str, Any]
