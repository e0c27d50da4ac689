"""HTTP transports for servers whose connections need handling of their own."""

import httpx

__all__ = ["ResendDropped", "ResendDroppedSync"]


class ResendDropped(httpx.AsyncBaseTransport):
    """Send a request once more when the engine dropped its kept-alive connection.

    llama.cpp's server (xllamacpp 2026.10) sometimes closes a connection after a
    streamed reply without saying so (measured with raw httpx: 4 to 12 in 40 streams
    on one connection). The next request on it fails before any byte of response, so
    the engine never saw it: sending it again on a new connection is safe. A fresh
    connection for every call would avoid it too, but costs ~1.4 ms on every call,
    and left alone the router would count a healthy engine as failing.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; once more if the connection was dropped before any reply."""
        try:
            return await self._inner.handle_async_request(request)
        except httpx.RemoteProtocolError:
            return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._inner.aclose()


class ResendDroppedSync(httpx.BaseTransport):
    """``ResendDropped`` for synchronous clients."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; once more if the connection was dropped before any reply."""
        try:
            return self._inner.handle_request(request)
        except httpx.RemoteProtocolError:
            return self._inner.handle_request(request)

    def close(self) -> None:
        """Close the connection pool."""
        self._inner.close()
