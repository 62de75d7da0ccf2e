"""Incremental decoder of the streamed simulation (pure: bytes in, frames out, no I/O).

The wire format is undocumented (see reference/api-behaviour.md, "wire format"). Clients that read
the live stream saw one JSON *string* per line whose content is JSON again (double-encoded). To be
robust this decoder accepts:

- JSON-string frames (``"{\\"simulated_conversation\\": [...], \\"analysis\\": null}"``) and plain
  JSON-object frames (``{"simulated_conversation": [...], "analysis": null}``);
- frames separated by newlines, by any whitespace, or by nothing at all (back to back);
- frames and UTF-8 characters split anywhere across network chunks.

Frame boundaries are found by a small scanner that keeps its state between chunks, so a frame
arriving in many chunks is scanned once (no quadratic re-parsing); each complete frame is then
parsed once by the C JSON decoder. A frame larger than ``max_frame_bytes`` is refused.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from pydantic import ValidationError

from agents_mcp.api.errors import StreamError
from agents_mcp.api.models import SimulationFrame

DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024
_EXCERPT = 80

_WHITESPACE = re.compile(r"[ \t\r\n]*")
# The body of a JSON string from just after its opening quote: stops at the closing quote, or at a
# backslash that is the last character so far (its escaped character has not arrived yet).
_STRING_BODY = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
# Inside an object frame: skip, in one C-level match, everything up to the next bracket or brace
# that is not inside a string (complete strings are skipped whole; it stops at an unfinished one).
_SKIP_TO_BRACKET = re.compile(r'(?:[^"{}\[\]]+|"[^"\\]*(?:\\.[^"\\]*)*")*', re.DOTALL)
_KNOWN_KEYS = ("simulated_conversation", "analysis")
_NOTHING: Any = object()
_ERROR_KEYS = ("detail", "error", "message")


def excerpt(text: str, limit: int = _EXCERPT) -> str:
    """A short, single-line view of some text, for error messages."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class FrameDecoder:
    """Feed it bytes as they arrive; it returns the frames that became complete.

    ``feed`` raises StreamError on a malformed or oversized frame; ``close`` raises StreamError
    when the stream stopped in the middle of a frame. After an error the decoder is unusable.
    """

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        if max_frame_bytes < 2:
            raise ValueError("max_frame_bytes must be at least 2")
        self.max_frame_bytes = max_frame_bytes
        self.frames_decoded = 0
        self.bytes_fed = 0
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._buf = ""  # text not yet returned as frames
        self._start = 0  # where in _buf the current frame starts (or the scan for one resumes)
        self._kind: str | None = None  # None (between frames), "string" or "object"
        self._scan = 0  # how far into _buf the current frame has been scanned
        self._depth = 0  # object frames: nesting depth at _scan
        self._in_string = False  # object frames: _scan is inside a string
        self._line_tried = False  # the one-line fast path was tried for the current frame
        self._outer: Any = _NOTHING  # the frame's JSON value when the fast path parsed it

    def feed(self, data: bytes) -> list[SimulationFrame]:
        self.bytes_fed += len(data)
        try:
            text = self._utf8.decode(data)
        except UnicodeDecodeError as exc:
            raise StreamError(f"the simulation stream is not valid UTF-8 ({exc.reason})") from None
        if text:
            self._buf = self._buf + text if self._buf else text
        return self._drain()

    def close(self) -> None:
        """The stream ended: anything left other than whitespace is an unfinished frame."""
        try:
            tail = self._utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            raise StreamError("the simulation stream ended inside a UTF-8 character") from None
        rest = (self._buf + tail).strip()
        if rest:
            raise StreamError(
                f"the simulation stream ended in the middle of a frame "
                f"({len(rest)} characters left: {excerpt(rest)!r})"
            )

    # --- scanning ----------------------------------------------------------------------------

    def _drain(self) -> list[SimulationFrame]:
        frames: list[SimulationFrame] = []
        buf = self._buf
        while True:
            if self._kind is None and not self._start_frame(buf):
                break
            end = self._find_end()
            if end is None:
                if len(buf) - self._start > self.max_frame_bytes:
                    raise self._too_big(len(buf) - self._start)
                break
            if end - self._start > self.max_frame_bytes:
                raise self._too_big(end - self._start)
            text = buf[self._start : end]
            self._start, self._kind = end, None
            outer, self._outer = self._outer, _NOTHING
            frames.append(parse_frame(text, kind_is_string=text[0] == '"', outer=outer))
            self.frames_decoded += 1
        # drop what was consumed, once per feed (not once per frame: that would copy the rest of
        # the buffer for every frame of a chunk)
        if self._start:
            self._buf = buf[self._start :]
            self._scan = max(0, self._scan - self._start)
            self._start = 0
        return frames

    def _start_frame(self, buf: str) -> bool:
        """Skip whitespace to the next frame; False when the buffer holds no frame start yet."""
        blank = _WHITESPACE.match(buf, self._start)
        assert blank is not None  # the pattern matches the empty string: it always matches
        i = blank.end()
        self._start = i
        if i == len(buf):
            return False
        self._line_tried = False
        first = buf[i]
        if first == '"':
            self._kind = "string"
            self._scan = i + 1
        elif first == "{":
            self._kind = "object"
            self._scan = i
            self._depth = 0
            self._in_string = False
        else:
            raise StreamError(
                f"malformed frame in the simulation stream: expected a JSON string or object, "
                f"got {excerpt(buf[i:])!r}"
            )
        return True

    def _find_end(self) -> int | None:
        """Index just past the current frame, or None while it is incomplete."""
        buf = self._buf
        if not self._line_tried:
            # Fast path for the usual one-frame-per-line stream: a JSON string cannot hold a raw
            # newline, so when the frame's line is complete, one C-level json.loads of that line
            # both finds and parses the frame. If it fails (frames back to back on one line, a
            # pretty-printed object, a malformed frame) the scanner below decides, as always.
            newline = buf.find("\n", self._scan)
            if newline != -1:
                self._line_tried = True
                try:
                    self._outer = json.loads(buf[self._start : newline])
                except ValueError:
                    pass
                else:
                    return newline
        if self._kind == "string":
            return self._string_end(buf, self._scan)
        # object frame: count nesting outside strings
        pos = self._scan
        if self._in_string:
            end = self._string_end(buf, pos)
            if end is None:
                return None
            self._in_string = False
            pos = end
        depth = self._depth
        skip = _SKIP_TO_BRACKET.match
        end_of_buf = len(buf)
        while True:
            skipped = skip(buf, pos)
            assert skipped is not None  # matches the empty string: always matches
            pos = skipped.end()
            if pos == end_of_buf:
                self._scan, self._depth = pos, depth
                return None
            ch = buf[pos]
            pos += 1
            if ch == '"':  # a string that has not ended yet
                self._depth = depth
                end = self._string_end(buf, pos)
                if end is None:
                    self._in_string = True
                    return None
                pos = end  # pragma: no cover - the skip above would have taken a whole string
            elif ch in "{[":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    return pos
                if depth < 0:  # pragma: no cover - a frame starts with "{", so depth >= 1 here
                    raise StreamError("malformed frame in the simulation stream: unbalanced")

    def _string_end(self, buf: str, pos: int) -> int | None:
        """From inside a string: index just past its closing quote, or None (remember where)."""
        body = _STRING_BODY.match(buf, pos)
        assert body is not None  # matches the empty string: always matches
        j = body.end()
        if j < len(buf) and buf[j] == '"':
            return j + 1
        self._scan = j  # at the end, or at a trailing backslash whose partner has not arrived
        return None

    def _too_big(self, size: int) -> StreamError:
        return StreamError(
            f"a frame of the simulation stream is larger than the limit of "
            f"{self.max_frame_bytes} bytes (at least {size} characters); refusing to buffer it"
        )


def parse_frame(
    text: str, *, kind_is_string: bool | None = None, outer: Any = None
) -> SimulationFrame:
    """One complete frame (a JSON string holding JSON, or a JSON object) -> SimulationFrame.

    ``outer`` is the frame's JSON value when the caller already decoded ``text``."""
    if kind_is_string is None:
        kind_is_string = text.lstrip()[:1] == '"'
    try:
        value: Any = json.loads(text) if outer is _NOTHING or outer is None else outer
        if kind_is_string:
            value = json.loads(value)
    except (ValueError, TypeError) as exc:
        raise StreamError(
            f"malformed frame in the simulation stream ({_reason(exc)}): {excerpt(text)!r}"
        ) from None
    if not isinstance(value, dict):
        raise StreamError(
            f"malformed frame in the simulation stream: expected an object, got "
            f"{type(value).__name__}: {excerpt(text)!r}"
        )
    if not any(key in value for key in _KNOWN_KEYS):
        if any(key in value for key in _ERROR_KEYS):
            raise StreamError(
                f"the API reported an error in the middle of the simulation stream: "
                f"{excerpt(json.dumps(value, ensure_ascii=False), 300)}"
            )
        raise StreamError(
            f"unexpected frame in the simulation stream (no simulated_conversation or analysis): "
            f"{excerpt(text)!r}"
        )
    try:
        return SimulationFrame.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:3]
        )
        raise StreamError(
            f"a frame of the simulation stream has an unexpected shape ({problems})"
        ) from None


def _reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        # some messages already end in "at" ("Invalid control character at")
        return f"{exc.msg.removesuffix(' at')} at character {exc.pos}"
    return type(exc).__name__
