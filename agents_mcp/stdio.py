"""The stdio transport on the event loop's own pipes: no worker thread between line and handler.

The SDK's `stdio_server` reads each line and writes (then flushes) each answer through anyio's
worker threads: three thread hand-offs per tool call, and one more per progress notification,
each a context switch that a busy machine makes slow. `stdio_streams` reads and writes the same
newline-delimited JSON-RPC on non-blocking pipes watched by the loop (asyncio or uvloop).

Rules kept from the SDK's transport:
- while serving, fd 0 reads the null device and fd 1 writes to stderr, so nothing a handler or a
  child prints can corrupt the protocol; both are put back on exit (with their blocking mode);
- a line that is not a JSON-RPC message reaches the server as an exception (the SDK logs and
  skips it), the transport goes on;
- the read side ends at EOF, which ends the server.
When stdin or stdout is not a pipe or a socket (a terminal, a file) or the platform is Windows,
the SDK's own transport is used.

`early`: the thread that answered the handshake before the SDK was imported
(agents_mcp/handshake.py). Its lines go to the server first, and the server's answers to the
requests it already answered are compared with them and not sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
from mcp.server.stdio import stdio_server
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage

from agents_mcp.handshake import EarlyAnswers, Handover, pipes_available

logger = logging.getLogger("agents_mcp.server")

_CHUNK = 256 * 1024


@asynccontextmanager
async def stdio_streams(early: EarlyAnswers | None = None) -> AsyncIterator[tuple[Any, Any]]:
    """(read_stream, write_stream) for `Server.run`, over the process's stdin and stdout."""
    if not pipes_available():
        async with stdio_server() as streams:
            yield streams
        return
    handover = Handover()
    if early is not None:
        handover = early.hand_over()
        logger.debug(
            "handshake: %d line(s) read before the server was ready, %d answered early",
            len(handover.lines),
            len(handover.answered),
        )
    async with (
        _claimed_std_fds() as (fd_in, fd_out),
        _pipe_streams(fd_in, fd_out, handover) as streams,
    ):
        yield streams


@asynccontextmanager
async def _claimed_std_fds() -> AsyncIterator[tuple[int, int]]:
    """Private duplicates of fd 0 and 1; the standard fds point elsewhere meanwhile."""
    import fcntl

    saved_flags = {fd: fcntl.fcntl(fd, fcntl.F_GETFL) for fd in (0, 1)}
    fd_in = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
    fd_out = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(null, 0)
        os.dup2(2, 1)
    finally:
        os.close(null)
    try:
        yield fd_in, fd_out
    finally:
        for fd, private in ((0, fd_in), (1, fd_out)):
            with contextlib.suppress(OSError):
                # the transports made the shared description non-blocking: undo that
                fcntl.fcntl(private, fcntl.F_SETFL, saved_flags[fd])
                os.dup2(private, fd)
            with contextlib.suppress(OSError):
                os.close(private)


@asynccontextmanager
async def _pipe_streams(
    fd_in: int, fd_out: int, handover: Handover
) -> AsyncIterator[tuple[Any, Any]]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_CHUNK, loop=loop)
    # closefd=False: the fds are closed by _claimed_std_fds, after their flags are restored
    # (wrapping an fd does no I/O)
    rfile = open(fd_in, "rb", buffering=0, closefd=False)  # noqa: SIM115, ASYNC230
    wfile = open(fd_out, "wb", buffering=0, closefd=False)  # noqa: SIM115, ASYNC230
    read_transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader, loop=loop), rfile
    )
    write_transport, write_protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, wfile
    )
    writer = asyncio.StreamWriter(write_transport, write_protocol, None, loop)

    read_send, read_stream = create_context_streams[SessionMessage | Exception](0)
    write_stream, write_receive = create_context_streams[SessionMessage](0)

    async def deliver(line: bytes) -> None:
        if not line.strip():
            return
        try:
            message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
        except Exception as exc:
            await read_send.send(exc)
            return
        await read_send.send(SessionMessage(message))

    async def stdin_reader() -> None:
        pending = bytearray(handover.partial)
        try:
            async with read_send:
                for line in handover.lines:
                    await deliver(line)
                handover.lines.clear()  # (a tool call's arguments may be large)
                while not handover.eof and (chunk := await reader.read(_CHUNK)):
                    pending += chunk
                    start = 0
                    while (end := pending.find(b"\n", start)) >= 0:
                        await deliver(bytes(pending[start:end]))
                        start = end + 1
                    del pending[:start]
                await deliver(bytes(pending))
        except anyio.ClosedResourceError:
            await anyio.lowlevel.checkpoint()

    async def stdout_writer() -> None:
        try:
            async with write_receive:
                async for session_message in write_receive:
                    if handover.answered and _answered_early(session_message, handover):
                        continue
                    data = session_message.message.model_dump_json(
                        by_alias=True, exclude_unset=True
                    )
                    writer.write(data.encode() + b"\n")
                    await writer.drain()
        except anyio.ClosedResourceError:
            await anyio.lowlevel.checkpoint()
        except ConnectionError:  # the client is gone: the read side ends at its EOF
            pass

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(stdin_reader)
            tg.start_soon(stdout_writer)
            yield read_stream, write_stream
    finally:
        read_transport.close()
        # what is still buffered (a client slow to read) goes out, but never hang on it
        with contextlib.suppress(ConnectionError), anyio.move_on_after(2, shield=True):
            if not write_transport.is_closing():
                write_transport.set_write_buffer_limits(high=0)  # drain: until all is written
                await writer.drain()
        write_transport.close()


def _answered_early(session_message: SessionMessage, handover: Handover) -> bool:
    """True for the server's answer to a request the handshake thread answered (checked equal)."""
    message = session_message.message
    request_id = getattr(message, "id", None)
    if request_id is None or request_id not in handover.answered or hasattr(message, "method"):
        return False
    early = handover.answered.pop(request_id)
    own = message.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if {key: value for key, value in own.items() if key not in ("jsonrpc", "id")} != early:
        logger.error(
            "bug: the early answer to request %r differs from the server's: %s",
            request_id,
            json.dumps(own)[:2000],
        )
    return True
