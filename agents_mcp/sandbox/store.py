"""Agents of the sandbox, kept in SQLite (stdlib sqlite3): a file under the data dir, or memory.

An agent is stored as the JSON document the real `GET /v1/convai/agents/{agent_id}` returns
(agent_id, name, conversation_config, metadata, platform_settings, tags, ...). The store is used
from one event loop thread; a lock keeps it safe should a caller use it from another thread.
"""

from __future__ import annotations

import copy
import json
import secrets
import sqlite3
import string
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents_mcp.jsontypes import JSONObject
from agents_mcp.sandbox.paging import offset_of

_ID_ALPHABET = string.ascii_lowercase + string.digits

# What the listing shows for the creator (there is one user in the sandbox).
ACCESS_INFO: JSONObject = {
    "is_creator": True,
    "creator_name": "Sandbox User",
    "creator_email": "sandbox@localhost",
    "role": "admin",
}


def new_agent_id() -> str:
    """An id shaped like the live API's: `agent_` + 28 lowercase alphanumerics."""
    return "agent_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(28))


@dataclass(frozen=True)
class Page:
    agents: list[JSONObject]
    next_cursor: str | None
    has_more: bool


class AgentStore:
    """Agents by id, newest first in listings. Documents go in and come out as plain dicts."""

    def __init__(self, data_dir: Path | str | None = None) -> None:
        if data_dir is None:
            target = ":memory:"
        else:
            path = Path(data_dir).expanduser()
            path.mkdir(parents=True, exist_ok=True)
            target = str(path / "sandbox-agents.sqlite3")
        self._lock = threading.Lock()
        self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL" if data_dir else "PRAGMA journal_mode=MEMORY")
        self._db.execute(
            """CREATE TABLE IF NOT EXISTS agents (
                   seq INTEGER PRIMARY KEY AUTOINCREMENT,
                   agent_id TEXT NOT NULL UNIQUE,
                   name TEXT NOT NULL,
                   created_at INTEGER NOT NULL,
                   doc TEXT NOT NULL)"""
        )
        self._db.execute(
            """CREATE TABLE IF NOT EXISTS branches (
                   agent_id TEXT NOT NULL,
                   branch_id TEXT NOT NULL,
                   doc TEXT NOT NULL,
                   PRIMARY KEY (agent_id, branch_id))"""
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- reads ------------------------------------------------------------------------------

    def get(self, agent_id: str) -> JSONObject | None:
        with self._lock:
            row = self._db.execute(
                "SELECT doc FROM agents WHERE agent_id = ?", (agent_id,)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT agent_id FROM agents ORDER BY seq")]

    def page(
        self,
        *,
        page_size: int = 30,
        cursor: str | None = None,
        search: str | None = None,
        sort_by: str = "created_at",
        descending: bool = True,
    ) -> Page:
        """One page of agent documents. The cursor is an offset, opaque to clients."""
        offset = offset_of(cursor)
        column = "lower(name)" if sort_by == "name" else "seq"
        direction = "DESC" if descending else "ASC"
        where, args = "", []
        if search:
            where, args = "WHERE lower(name) LIKE ? ESCAPE '\\'", [f"%{_escape_like(search)}%"]
        query = (
            f"SELECT doc FROM agents {where} ORDER BY {column} {direction}, seq {direction} "
            "LIMIT ? OFFSET ?"
        )
        with self._lock:
            rows = self._db.execute(query, [*args, page_size + 1, offset]).fetchall()
        has_more = len(rows) > page_size
        docs = [json.loads(r[0]) for r in rows[:page_size]]
        return Page(docs, str(offset + page_size) if has_more else None, has_more)

    # --- writes -----------------------------------------------------------------------------

    def put(self, doc: JSONObject, *, replace: bool = True) -> str:
        """Store a full agent document (it must carry agent_id and name)."""
        created = int(doc.get("metadata", {}).get("created_at_unix_secs") or time.time())
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        with self._lock:
            self._db.execute(
                f"{verb} INTO agents (agent_id, name, created_at, doc) VALUES (?, ?, ?, ?)",
                (doc["agent_id"], doc["name"], created, json.dumps(doc, separators=(",", ":"))),
            )
        agent_id: str = doc["agent_id"]
        return agent_id

    def create(
        self,
        *,
        name: str | None,
        conversation_config: JSONObject,
        platform_settings: JSONObject | None = None,
        workflow: JSONObject | None = None,
        tags: list[str] | None = None,
    ) -> str:
        now = int(time.time())
        doc = {
            "agent_id": new_agent_id(),
            "name": name if name is not None else "",
            "conversation_config": conversation_config,
            "metadata": {"created_at_unix_secs": now, "updated_at_unix_secs": now},
            "platform_settings": platform_settings or {},
            "phone_numbers": [],
            "workflow": workflow,
            "access_info": dict(ACCESS_INFO),
            "tags": list(tags or []),
        }
        return self.put(doc, replace=False)

    def duplicate(self, agent_id: str, name: str | None) -> str | None:
        source = self.get(agent_id)
        if source is None:
            return None
        now = int(time.time())
        doc = copy.deepcopy(source)
        doc["agent_id"] = new_agent_id()
        # The live API names a copy after its source when no name is given.
        doc["name"] = name if name is not None else f"{source.get('name', '')} (copy)".strip()
        doc["metadata"] = {"created_at_unix_secs": now, "updated_at_unix_secs": now}
        # A copy gets its own share token, never the source's.
        auth = _obj(doc.get("platform_settings")).get("auth")
        if isinstance(auth, dict):
            auth.pop("shareable_token", None)
        return self.put(doc, replace=False)

    def delete(self, agent_id: str) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM agents WHERE agent_id = ?", (agent_id,))
            self._db.execute("DELETE FROM branches WHERE agent_id = ?", (agent_id,))
        return cur.rowcount > 0

    def delete_all(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM agents")
            self._db.execute("DELETE FROM branches")

    # --- branches: a branch is a whole agent document kept beside the main one ---------------

    def get_branch(self, agent_id: str, branch_id: str) -> JSONObject | None:
        with self._lock:
            row = self._db.execute(
                "SELECT doc FROM branches WHERE agent_id = ? AND branch_id = ?",
                (agent_id, branch_id),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put_branch(self, branch_id: str, doc: JSONObject) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO branches (agent_id, branch_id, doc) VALUES (?, ?, ?)",
                (doc["agent_id"], branch_id, json.dumps(doc, separators=(",", ":"))),
            )


def summary(doc: JSONObject) -> JSONObject:
    """An agent as the listing shows it (AgentSummaryResponseModel)."""
    meta = _obj(doc.get("metadata"))
    tts = _obj(_obj(doc.get("conversation_config")).get("tts"))
    voice = tts.get("voice_id")
    return {
        "agent_id": doc["agent_id"],
        "name": doc.get("name", ""),
        "voice_id": voice if isinstance(voice, str) and voice else "cjVigY5qzO86Huf0OWal",
        "tags": list(doc.get("tags") or []),
        "created_at_unix_secs": int(meta.get("created_at_unix_secs", 0)),
        "updated_at_unix_secs": int(meta.get("updated_at_unix_secs", 0)),
        "access_info": dict(doc.get("access_info") or ACCESS_INFO),
        "last_call_time_unix_secs": None,
        "archived": _obj(doc.get("platform_settings")).get("archived") is True,
    }


def _obj(value: Any) -> JSONObject:
    return value if isinstance(value, dict) else {}


def _escape_like(text: str) -> str:
    return text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
