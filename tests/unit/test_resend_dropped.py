"""The embedded engine's transports send a request dropped before any reply once more.

Against the real engine: tests/engine/test_engine_keepalive.py.
"""

import httpx
import pytest

from backends.transports import ResendDropped, ResendDroppedSync


class _DropsFirst(httpx.AsyncBaseTransport):
    def __init__(self, drops: int) -> None:
        self.drops, self.calls = drops, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls <= self.drops:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(200, json={"ok": True})


async def test_a_dropped_request_is_sent_once_more_and_only_once():
    once = _DropsFirst(drops=1)
    async with httpx.AsyncClient(transport=ResendDropped(once)) as client:
        assert (await client.post("http://127.0.0.1:1/x", json={"a": 1})).json() == {"ok": True}
    assert once.calls == 2
    twice = _DropsFirst(drops=2)
    async with httpx.AsyncClient(transport=ResendDropped(twice)) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("http://127.0.0.1:1/x", json={"a": 1})
    assert twice.calls == 2, "a second drop surfaces to the router"


class _DropsFirstSync(httpx.BaseTransport):
    def __init__(self, drops: int) -> None:
        self.drops, self.calls = drops, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls <= self.drops:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(200, json={"ok": True})


def test_sync_clients_resend_a_dropped_request_once_too():
    once, twice = _DropsFirstSync(drops=1), _DropsFirstSync(drops=2)
    with httpx.Client(transport=ResendDroppedSync(once)) as client:
        assert client.post("http://127.0.0.1:1/x", json={}).json() == {"ok": True}
    with httpx.Client(transport=ResendDroppedSync(twice)) as client, pytest.raises(
            httpx.RemoteProtocolError):
        client.post("http://127.0.0.1:1/x", json={})
    assert (once.calls, twice.calls) == (2, 2)
