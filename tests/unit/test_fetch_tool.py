"""fetch_url against a real HTTP server on 127.0.0.1; every other address is stubbed.

The transport under the tool forwards only requests addressed to 127.0.0.1 or
::1. Anything else is recorded and answered from a canned reply, or fails the
test, so a bug in the guard can never send a packet off this machine.
"""

import asyncio
import errno
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from langchain_core.tools import BaseTool

from backends.errors import ToolError
from tools import tool_info
from tools.fetch import fetch_url, make_fetch_url
from tools.html_text import html_to_text
from tools.netguard import NetPolicy, URLRefused
from tools.runner import run_tool

LOOPBACK = frozenset({"127.0.0.1"})
PAGE = b"""<!doctype html>
<html><head><title>  Test   page </title>
<style>body { color: red }</style>
<script>alert("secret script")</script></head>
<body><noscript>enable javascript</noscript>
<h1>Hello</h1><p>First   paragraph
with a line break &amp; an entity.</p>
<ul><li>one</li><li>two</li></ul>
<svg><text>svg text</text></svg>
</body></html>"""


class Handler(BaseHTTPRequestHandler):
    release: threading.Event

    def do_GET(self) -> None:
        path = self.path
        if path == "/page":
            self._reply(200, "text/html; charset=utf-8", PAGE)
        elif path == "/big":
            self._reply(200, "text/plain", b"x" * 50_000)
        elif path == "/long-text":
            self._reply(200, "text/plain", " ".join(["word"] * 2000).encode())
        elif path == "/json":
            self._reply(200, "application/json", b'{"answer": 42}')
        elif path == "/latin1":
            self._reply(200, "text/plain; charset=latin-1", "caf\xe9".encode("latin-1"))
        elif path == "/binary":
            self._reply(200, "application/octet-stream", bytes(range(256)))
        elif path == "/image":
            self._reply(200, "image/png", b"\x89PNG\r\n")
        elif path == "/host":
            self._reply(200, "text/plain", self.headers["Host"].encode())
        elif path == "/missing":
            self._reply(404, "text/plain", b"nope")
        elif path.startswith("/hop/"):
            left = int(path.removeprefix("/hop/"))
            if left == 0:
                self._reply(200, "text/plain", b"arrived")
            else:
                self._redirect(f"/hop/{left - 1}")
        elif path == "/to-private":
            self._redirect("http://10.0.0.1/secret")
        elif path == "/to-metadata-name":
            self._redirect("http://metadata-alias.test/latest/meta-data/")
        elif path == "/to-file":
            self._redirect("file:///etc/passwd")
        elif path == "/slow":
            self.release.wait(120)
            self._reply(200, "text/plain", b"too late")
        else:
            self._reply(404, "text/plain", b"unknown path")

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up first, as the timeout tests intend

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    release = threading.Event()
    handler = type("BoundHandler", (Handler,), {"release": release})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


class Recorder(httpx.AsyncBaseTransport):
    """Forward requests to loopback; record every request; never connect anywhere else."""

    def __init__(self, canned: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.canned = canned
        self.requests: list[httpx.Request] = []

    @property
    def hosts(self) -> list[str]:
        return [request.url.host for request in self.requests]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host in ("127.0.0.1", "::1"):
            return await self.inner.handle_async_request(request)
        if self.canned is None:
            raise AssertionError(f"tried to connect to {request.url.host}")
        return self.canned(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class StubResolver:
    def __init__(self, zone: dict[str, list[str]]) -> None:
        self.zone = zone
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return list(self.zone[host])


def tool_for(
    recorder: Recorder,
    *,
    allow: frozenset[str] = LOOPBACK,
    resolver: StubResolver | None = None,
    **limits: float,
) -> BaseTool:
    policy = NetPolicy(allow_hosts=allow, **limits)  # type: ignore[arg-type]
    return make_fetch_url(policy, resolver or StubResolver({}), transport=recorder)


async def test_html_page_becomes_readable_text_with_title(server: str) -> None:
    text = await tool_for(Recorder()).ainvoke({"url": f"{server}/page"})
    assert text.startswith(f"URL: {server}/page\n\nTitle: Test page\n\nHello\n")
    assert "First paragraph with a line break & an entity." in text
    assert "- one\n- two" in text
    for hidden in ("secret script", "alert", "color", "enable javascript", "svg text", "<"):
        assert hidden not in text


def test_html_to_text_survives_broken_markup() -> None:
    assert html_to_text("<p>a<script>x</p><p>b") == ("", "a")  # unclosed script hides the rest
    assert html_to_text("<title>T</title><title>U</title><p>x</p>") == ("T", "U\nx")
    assert html_to_text("</div>plain &lt;text&gt;") == ("", "plain <text>")


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/json", '{"answer": 42}'), ("/latin1", "caf\xe9"), ("/host", "127.0.0.1:")],
)
async def test_text_types_are_returned_as_is(server: str, path: str, expected: str) -> None:
    text = await tool_for(Recorder()).ainvoke({"url": server + path})
    assert text.startswith(f"URL: {server}{path}\n\n{expected}")


async def test_big_body_is_capped_at_max_bytes(server: str) -> None:
    text = await tool_for(Recorder(), max_bytes=10_000).ainvoke(
        {"url": f"{server}/big", "max_chars": 20_000}
    )
    assert text.count("x") == 10_000
    assert text.endswith("[the page is larger than 10000 bytes; only the start was read]")


async def test_long_text_is_truncated_to_max_chars_with_a_note(server: str) -> None:
    text = await tool_for(Recorder()).ainvoke({"url": f"{server}/long-text", "max_chars": 100})
    body = text.split("\n\n", 1)[1]
    assert body.startswith("word word")
    assert body.endswith(
        "\n[truncated: showing the first 100 of 9999 characters; "
        "ask for a larger max_chars to see more]"
    )
    assert len(body.split("\n")[0]) == 100


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/binary", ["application/octet-stream, not text"]),
        ("/image", ["image/png, not text"]),
        ("/missing", ["answered HTTP 404 Not Found"]),
    ],
)
async def test_non_text_and_errors_are_refused(server: str, path: str, words: list[str]) -> None:
    with pytest.raises(ToolError) as caught:
        await tool_for(Recorder()).ainvoke({"url": server + path})
    for word in words:
        assert word in str(caught.value)


async def test_local_server_is_reachable_only_when_allow_listed(server: str) -> None:
    recorder = Recorder()
    with pytest.raises(URLRefused, match="127.0.0.1 is a loopback address; add the host"):
        await tool_for(recorder, allow=frozenset()).ainvoke({"url": f"{server}/page"})
    with pytest.raises(URLRefused, match="127.0.0.1 is a loopback address"):
        await tool_for(recorder, allow=frozenset({"10.0.0.1"})).ainvoke({"url": f"{server}/page"})
    assert recorder.requests == []
    assert "Test page" in await tool_for(recorder).ainvoke({"url": f"{server}/page"})
    assert recorder.hosts == ["127.0.0.1"]


async def test_the_default_tool_refuses_the_local_server(server: str) -> None:
    with pytest.raises(URLRefused, match="loopback"):
        await fetch_url.ainvoke({"url": f"{server}/page"})
    info = tool_info(fetch_url)
    assert (info.risk, info.network, info.timeout_s) == ("network", True, 15.0)


async def test_redirects_are_followed_up_to_max_redirects(server: str) -> None:
    recorder = Recorder()
    tool = tool_for(recorder, max_redirects=5)
    assert (await tool.ainvoke({"url": f"{server}/hop/5"})).endswith("\n\narrived")
    assert len(recorder.requests) == 6
    with pytest.raises(ToolError, match="too many redirects: .*/hop/6 redirected more than 5"):
        await tool.ainvoke({"url": f"{server}/hop/6"})
    assert len(recorder.requests) == 6 + 6
    with pytest.raises(ToolError, match="too many redirects"):
        await tool_for(Recorder(), max_redirects=0).ainvoke({"url": f"{server}/hop/1"})


async def test_redirect_to_a_private_address_is_refused_before_connecting(server: str) -> None:
    recorder = Recorder()
    with pytest.raises(URLRefused) as caught:
        await tool_for(recorder).ainvoke({"url": f"{server}/to-private"})
    assert str(caught.value) == (
        "refusing to fetch http://10.0.0.1/secret: 10.0.0.1 is a private address; add the host "
        f"to fetch_url allow_hosts to permit it (redirected from {server}/to-private)"
    )
    assert caught.value.address == "10.0.0.1"
    assert recorder.hosts == ["127.0.0.1"]


async def test_redirect_to_a_name_for_the_metadata_address_is_refused(server: str) -> None:
    recorder = Recorder()
    resolver = StubResolver({"metadata-alias.test": ["169.254.169.254"]})
    with pytest.raises(URLRefused, match="resolves to 169.254.169.254, a cloud metadata address"):
        await tool_for(recorder, resolver=resolver).ainvoke({"url": f"{server}/to-metadata-name"})
    assert resolver.calls == ["metadata-alias.test"]
    assert recorder.hosts == ["127.0.0.1"]


async def test_redirect_to_another_scheme_is_refused(server: str) -> None:
    with pytest.raises(URLRefused, match="only http:// and https://.*redirected from"):
        await tool_for(Recorder()).ainvoke({"url": f"{server}/to-file"})


async def test_connects_to_the_checked_address_and_sends_the_name(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    recorder = Recorder()
    # The second answer would be a rebinding attack; only one lookup may happen.
    resolver = StubResolver({"pinned.test": ["127.0.0.1"]})
    tool = tool_for(recorder, allow=frozenset({"pinned.test"}), resolver=resolver)
    text = await tool.ainvoke({"url": f"http://pinned.test:{port}/host"})
    assert text == f"URL: http://pinned.test:{port}/host\n\npinned.test:{port}"
    assert resolver.calls == ["pinned.test"]
    [request] = recorder.requests
    assert request.url == httpx.URL(f"http://127.0.0.1:{port}/host")
    assert "sni_hostname" not in request.extensions


async def test_https_pins_the_address_and_sends_the_name_as_sni() -> None:
    def canned(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Type": "text/plain"}, content=b"hello")

    recorder = Recorder(canned)
    resolver = StubResolver({"example.com": ["93.184.216.34"]})
    text = await tool_for(recorder, resolver=resolver).ainvoke({"url": "https://example.com/a?b=1"})
    assert text == "URL: https://example.com/a?b=1\n\nhello"
    [request] = recorder.requests
    assert request.url == httpx.URL("https://93.184.216.34/a?b=1")
    assert request.headers["host"] == "example.com"
    assert request.extensions["sni_hostname"] == "example.com"
    assert "cookie" not in request.headers


async def test_cookies_never_carry_over_between_calls() -> None:
    def canned(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Type": "text/plain", "Set-Cookie": "session=abc; Path=/"}
        return httpx.Response(200, headers=headers, content=b"ok")

    recorder = Recorder(canned)
    tool = tool_for(recorder, resolver=StubResolver({"example.com": ["93.184.216.34"]}))
    for _ in range(2):
        await tool.ainvoke({"url": "http://example.com/"})
    assert [request.headers.get("cookie") for request in recorder.requests] == [None, None]


async def test_tries_the_next_address_when_one_refuses(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    recorder = Recorder()
    resolver = StubResolver({"localhost": ["::1", "127.0.0.1"]})
    tool = tool_for(recorder, allow=frozenset({"localhost"}), resolver=resolver)
    text = await tool.ainvoke({"url": f"http://localhost:{port}/host"})
    assert text.endswith(f"\n\nlocalhost:{port}")
    assert recorder.hosts == ["::1", "127.0.0.1"]


async def test_slow_server_times_out_at_the_tools_own_limit(server: str) -> None:
    # /slow answers only when released (at teardown): the error can only come from
    # the tool's 0.3 s limit. The outer limit just keeps a broken tool from hanging.
    async with asyncio.timeout(60):
        with pytest.raises(ToolError, match=r"timed out after 0\.3s fetching .*/slow"):
            await tool_for(Recorder(), timeout_s=0.3).ainvoke({"url": f"{server}/slow"})


async def test_dns_failure_is_a_clear_error_raised_promptly() -> None:
    async def offline(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    tool = make_fetch_url(NetPolicy(), offline, transport=Recorder())
    async with asyncio.timeout(60):
        with pytest.raises(ToolError, match="could not reach example.com: DNS lookup failed"):
            await tool.ainvoke({"url": "https://example.com/"})


async def test_unreachable_network_is_a_clear_error() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        cause = OSError(errno.ENETUNREACH, "Network is unreachable")
        raise httpx.ConnectError("[Errno 101] Network is unreachable") from cause

    resolver = StubResolver({"example.com": ["93.184.216.34"]})
    tool = make_fetch_url(NetPolicy(), resolver, transport=Recorder(unreachable))
    with pytest.raises(ToolError) as caught:
        await tool.ainvoke({"url": "https://example.com/"})
    assert str(caught.value) == "could not reach example.com: network unreachable (offline?)"


async def test_closed_port_is_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ToolError, match="could not reach 127.0.0.1: connection refused"):
        await tool_for(Recorder()).ainvoke({"url": f"http://127.0.0.1:{port}/"})


async def test_one_client_serves_every_call_on_a_loop(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[httpx.AsyncClient] = []

    class CountingClient(httpx.AsyncClient):
        def __init__(self, **kwargs: object) -> None:
            super().__init__(**kwargs)  # type: ignore[arg-type]
            built.append(self)

    monkeypatch.setattr(httpx, "AsyncClient", CountingClient)  # fetch reads it at call time
    tool = tool_for(Recorder())
    for _ in range(3):
        await tool.ainvoke({"url": f"{server}/json"})
    await asyncio.gather(*(tool.ainvoke({"url": f"{server}/page"}) for _ in range(3)))
    assert len(built) == 1


def test_each_event_loop_gets_its_own_client(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[httpx.AsyncClient] = []
    original = httpx.AsyncClient

    def counting(**kwargs: Any) -> httpx.AsyncClient:
        built.append(original(**kwargs))
        return built[-1]

    monkeypatch.setattr(httpx, "AsyncClient", counting)
    tool = tool_for(Recorder())
    for _ in range(2):
        assert "answer" in asyncio.run(tool.ainvoke({"url": f"{server}/json"}))
    assert len(built) == 2 and built[0] is not built[1]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"url": "ftp://example.com/"}, ["only http:// and https://"]),
        ({"url": "http://169.254.169.254/"}, ["metadata"]),
        ({"url": "http://x.com/", "max_chars": 50}, ["max_chars", "greater than or equal to 100"]),
        ({"url": "http://x.com/", "max_chars": "500"}, ["max_chars", "valid integer"]),
        ({"url": "http://x.com/" + "a" * 2048}, ["url", "at most 2048"]),
        ({"url": ""}, ["url", "at least 1"]),
        ({"link": "http://x.com/"}, ["link", "Extra inputs"]),
    ],
)
async def test_runner_turns_bad_calls_into_error_results(
    args: dict[str, object], words: list[str]
) -> None:
    result = await run_tool("fetch_url", dict(args), tools={"fetch_url": fetch_url})
    assert result["status"] == "error"
    for word in words:
        assert word in result["output"]
