"""A minimal HTTP/1.1 server on 127.0.0.1, run in its own thread and event loop.

The wire-level test servers need control below what a framework offers: a chunked stream cut
off without its terminating chunk, a request read and never answered, headers byte for byte.
The project declares no server framework either, so this is asyncio streams and the standard
library only. It speaks enough HTTP/1.1 for httpx-based clients: keep-alive, ``Content-Length``
and chunked request bodies, ``Content-Length`` and chunked responses.

Lifecycle: a server is a daemon thread of the test process, not a child process, so it cannot
outlive pytest, however pytest ends. Within a run, ``stop`` (or leaving the ``with`` block) ends
it; ``start`` waits on the server's own ready signal, never a fixed delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Self

__all__ = ["LoopbackServer", "Recorded", "Reply", "WireServer"]

_HOST = "127.0.0.1"
# Generous: on a loaded 2-core machine a new thread and event loop can take seconds to run.
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Recorded:
    """One request as it arrived: what tests assert on (order, retries, bodies, headers)."""

    method: str
    path: str
    query: str
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    arrived: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        """Return the body parsed as JSON (``None`` when empty)."""
        return json.loads(self.body) if self.body else None


class Reply:
    """Writes one response: whole (``send``), chunked (``start``/``chunk``/``end``) or cut."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self.started = False
        self.finished = False
        self.aborted = False

    async def send(
        self,
        status: int,
        body: bytes | str | dict[str, Any] | list[Any],
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Send a complete response; dicts and lists are sent as JSON."""
        if isinstance(body, (dict, list)):
            data = json.dumps(body, separators=(",", ":")).encode()
            content_type = content_type or "application/json; charset=utf-8"
        else:
            data = body.encode() if isinstance(body, str) else body
            content_type = content_type or "text/plain; charset=utf-8"
        head = {"Content-Type": content_type, "Content-Length": str(len(data))}
        self._write_head(status, head | (headers or {}))
        self._writer.write(data)
        await self._writer.drain()
        self.finished = True

    async def start(
        self, status: int, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        """Begin a chunked response (``Transfer-Encoding: chunked``)."""
        head = {"Content-Type": content_type, "Transfer-Encoding": "chunked"}
        self._write_head(status, head | (headers or {}))
        await self._writer.drain()

    async def chunk(self, data: bytes | str) -> None:
        """Send one chunk of a chunked response and wait until the kernel has it."""
        raw = data.encode() if isinstance(data, str) else data
        if raw:
            self._writer.write(b"%x\r\n%s\r\n" % (len(raw), raw))
            await self._flushed()

    async def end(self) -> None:
        """Send the terminating zero-length chunk."""
        self._writer.write(b"0\r\n\r\n")
        await self._writer.drain()
        self.finished = True

    def abort(self) -> None:
        """Close the TCP connection at once, mid-response, without any terminating chunk."""
        self.aborted = True
        self._writer.transport.abort()

    def _write_head(self, status: int, headers: dict[str, str]) -> None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        lines = [f"HTTP/1.1 {status} {phrase}"] + [f"{k}: {v}" for k, v in headers.items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        self.started = True

    async def _flushed(self) -> None:
        await self._writer.drain()
        # A chunk still in the transport buffer would be lost by abort(); wait it out.
        while self._writer.transport.get_write_buffer_size() > 0:
            await asyncio.sleep(0.001)


Handler = Callable[[Recorded, Reply], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while size := int((await reader.readline()).split(b";")[0].strip() or b"0", 16):
            parts.append(await reader.readexactly(size))
            await reader.readline()
        while (await reader.readline()).strip():
            pass
        return b"".join(parts)
    return await reader.readexactly(int(headers.get("content-length", "0")))


async def _read_request(reader: asyncio.StreamReader) -> Recorded | None:
    line = await reader.readline()
    if not line.strip():
        return None
    method, target, _version = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while (raw := await reader.readline()).strip():
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await _read_body(reader, headers)
    path, _, query = target.partition("?")
    return Recorded(method.upper(), path, query, headers, body)


class LoopbackServer:
    """Serve ``handler`` on ``127.0.0.1:<free port>`` from a background thread.

    Every request is appended to ``requests`` before the handler sees it. A handler that
    raises is answered with 500 and its exception kept in ``errors`` (tests assert it empty).
    ``startup`` and ``shutdown`` run inside the server's event loop (for clients bound to it).
    """

    def __init__(
        self, handler: Handler, *, name: str, startup: Hook | None = None,
        shutdown: Hook | None = None,
    ) -> None:
        self._handler = handler
        self._name = name
        self._startup = startup
        self._shutdown_hook = shutdown
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._error: BaseException | None = None
        self.requests: list[Recorded] = []
        self.errors: list[BaseException] = []
        self.base_url = ""

    def start(self) -> str:
        """Start serving (idempotent); return ``http://127.0.0.1:<port>``."""
        if self._thread is not None:
            return self.base_url
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name=self._name,
                                        daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT_S) or self._error is not None:
            self.stop()
            raise RuntimeError(f"{self._name} did not start") from self._error
        return self.base_url

    def stop(self) -> None:
        """Stop serving: open connections are closed, hanging handlers cancelled."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT_S)
        self._thread = None

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        server: asyncio.Server | None = None
        try:
            server = loop.run_until_complete(asyncio.start_server(self._connection, _HOST, 0))
            self.base_url = f"http://{_HOST}:{server.sockets[0].getsockname()[1]}"
            if self._startup is not None:
                loop.run_until_complete(self._startup())
            ready.set()
            loop.run_forever()
        except BaseException as exc:  # reported to the thread that called start()
            self._error = exc
            ready.set()
        finally:
            loop.run_until_complete(self._close(server))
            loop.close()

    async def _close(self, server: asyncio.Server | None) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if server is not None:
            server.close()
            await server.wait_closed()
        if self._shutdown_hook is not None:
            await self._shutdown_hook()
        await asyncio.sleep(0.01)  # let closed transports finish before the loop goes

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while (request := await _read_request(reader)) is not None:
                self.requests.append(request)
                reply = Reply(writer)
                try:
                    await self._handler(request, reply)
                except ConnectionError:
                    break  # the client hung up mid-response: not a server bug
                except Exception as exc:  # kept in self.errors for the test to see
                    self.errors.append(exc)
                    if not reply.started:
                        await reply.send(500, {"error": f"test server bug: {exc!r}"})
                    break
                if reply.aborted or not reply.finished:
                    break
                if request.headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # the client went away or sent garbage: drop the connection
        except asyncio.CancelledError:
            # stop() cancels open connections; ending quietly spares asyncio's
            # connection callback from logging the cancellation as an error.
            pass
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()


class WireServer:
    """Lifecycle shared by the test servers built on ``LoopbackServer`` (``self._server``)."""

    _server: LoopbackServer

    @property
    def base_url(self) -> str:
        """Return ``http://127.0.0.1:<port>`` (empty before ``start``)."""
        return self._server.base_url

    @property
    def requests(self) -> list[Recorded]:
        """Return every request received, in arrival order."""
        return self._server.requests

    @property
    def errors(self) -> list[BaseException]:
        """Return exceptions raised by the server's own code (a test should see none)."""
        return self._server.errors

    def start(self) -> str:
        """Start serving in a background thread; return the base URL."""
        return self._server.start()

    def stop(self) -> None:
        """Stop serving; hanging requests are closed."""
        self._server.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
