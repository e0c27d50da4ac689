"""The llama.cpp side of the Ollama emulation: Ollama options, prompts and truncation.

Ollama's own server turns a request into a prompt in two steps, both copied here:

1. ``server/prompt.go`` ``chatPrompt``: while the rendered chat does not fit ``num_ctx``
   tokens, drop messages from the front, always keeping system messages and the last message.
2. ``llm/llama_server.go``: if the tokens still exceed ``num_ctx - 1``, keep the first
   ``num_keep`` tokens (default 4) and the tail, dropping the middle, log a warning and carry
   on. The client gets HTTP 200 and ``prompt_eval_count`` = the shortened length. With
   ``"truncate": false`` the request is refused instead.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from backends.embedded import engine_at

__all__ = ["OLLAMA_DEFAULTS", "LlamaCpp", "Prompt", "UpstreamError", "completion_body",
           "fit_tokens"]

# api.DefaultOptions() in Ollama's api/types.go (num_ctx comes from the server, see ollama.py).
OLLAMA_DEFAULTS: dict[str, Any] = {
    "num_keep": 4, "num_predict": -1, "temperature": 0.8, "top_k": 40, "top_p": 0.9,
    "min_p": 0.0, "typical_p": 1.0, "repeat_last_n": 64, "repeat_penalty": 1.1,
    "presence_penalty": 0.0, "frequency_penalty": 0.0, "seed": -1,
}
# Ollama option name -> llama.cpp /completion field. Runner options (num_gpu, num_thread,
# num_batch, use_mmap, ...) only matter when Ollama loads a model: accepted and ignored.
_SAMPLING = {
    "temperature": "temperature", "top_k": "top_k", "top_p": "top_p", "min_p": "min_p",
    "typical_p": "typical_p", "repeat_last_n": "repeat_last_n",
    "repeat_penalty": "repeat_penalty", "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty", "mirostat": "mirostat",
    "mirostat_tau": "mirostat_tau", "mirostat_eta": "mirostat_eta", "stop": "stop",
    "num_keep": "n_keep",
}
# Ollama's "json" format asks for a JSON object (grammar root ::= object).
_JSON_OBJECT: dict[str, Any] = {"type": "object"}


class UpstreamError(Exception):
    """llama.cpp refused a request; ``status`` and ``message`` are what it said."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"llama.cpp answered {status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Prompt:
    """The token prompt sent upstream and how it was shortened to fit ``num_ctx``."""

    tokens: list[int]
    original_tokens: int
    dropped_messages: int
    truncated: bool


def fit_tokens(tokens: list[int], num_ctx: int, num_keep: int) -> list[int]:
    """Shorten ``tokens`` like Ollama's runner: keep ``num_keep`` head tokens and the tail."""
    limit = num_ctx - 1
    if len(tokens) <= limit:
        return tokens
    keep = len(tokens) if num_keep < 0 else num_keep
    keep = min(keep, limit)
    discard = len(tokens) - limit
    return tokens[:keep] + tokens[keep + discard:]


def completion_body(prompt: list[int], options: dict[str, Any], fmt: Any, n_predict: int,
                    stream: bool, n_probs: int = 0) -> dict[str, Any]:
    """Build a llama.cpp ``/completion`` request from Ollama options and ``format``."""
    merged = OLLAMA_DEFAULTS | {k: v for k, v in options.items() if v is not None}
    body: dict[str, Any] = {"prompt": prompt, "n_predict": n_predict, "stream": stream,
                            "cache_prompt": True}
    for name, target in _SAMPLING.items():
        if name in merged:
            body[target] = merged[name]
    if merged.get("seed", -1) >= 0:
        body["seed"] = merged["seed"]
    if n_probs:
        body["n_probs"] = n_probs
    if fmt == "json":
        body["json_schema"] = _JSON_OBJECT
    elif isinstance(fmt, dict):
        body["json_schema"] = fmt
    return body


class LlamaCpp:
    """A client for the upstream llama.cpp server, bound to the wire server's event loop."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._client: httpx.AsyncClient | None = None
        self.props: dict[str, Any] = {}
        self.meta: dict[str, Any] = {}

    async def open(self) -> None:
        """Connect and read the model's properties (slot context, path, size)."""
        # llama.cpp may close a kept-alive connection after a stream; never reuse one.
        self._client = httpx.AsyncClient(
            base_url=self.base_url, timeout=httpx.Timeout(600.0, connect=5.0),
            limits=httpx.Limits(max_keepalive_connections=0))
        engine = engine_at(self.base_url)
        # Another GET /props would make this llama.cpp build drop a later keep-alive stream.
        self.props = engine.props if engine is not None else await self._json("GET", "/props")
        models = await self._json("GET", "/v1/models")
        self.meta = (models.get("data") or [{}])[0].get("meta") or {}

    async def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.aclose()

    @property
    def slot_ctx(self) -> int:
        """Return the context size of one upstream slot, the hard limit of any request."""
        return int(self.props["default_generation_settings"]["n_ctx"])

    async def render(self, messages: list[dict[str, Any]]) -> str:
        """Apply the model's chat template, ending with the assistant's turn."""
        plain = [{"role": m.get("role", "user"), "content": m.get("content") or ""}
                 for m in messages]
        return str((await self._json("POST", "/apply-template", {"messages": plain}))["prompt"])

    async def tokenize(self, text: str) -> list[int]:
        """Tokenize ``text`` as ``/completion`` would (special tokens parsed)."""
        body = {"content": text, "add_special": True}
        return list((await self._json("POST", "/tokenize", body))["tokens"])

    async def chat_prompt(self, messages: list[dict[str, Any]], num_ctx: int, num_keep: int,
                          truncate: bool) -> Prompt:
        """Render and tokenize a chat the way Ollama does, shortened to ``num_ctx``."""
        start, system = 0, []
        tokens = await self.tokenize(await self.render(messages))
        if truncate and len(tokens) > num_ctx:
            for i in range(1, len(messages)):
                system = [m for m in messages[:i] if m.get("role") == "system"]
                tokens = await self.tokenize(await self.render(system + messages[i:]))
                start = i
                if len(tokens) <= num_ctx:
                    break
        return self.text_prompt(tokens, num_ctx, num_keep, truncate,
                                dropped=start - len(system))

    def text_prompt(self, tokens: list[int], num_ctx: int, num_keep: int, truncate: bool,
                    dropped: int = 0) -> Prompt:
        """Apply the runner's token-level cut (or refuse, when ``truncate`` is false)."""
        if not truncate and len(tokens) > num_ctx - 1:
            raise UpstreamError(400, f"request ({len(tokens)} tokens) exceeds the available "
                                     f"context size ({num_ctx} tokens), try increasing it")
        kept = fit_tokens(tokens, num_ctx, num_keep)
        return Prompt(kept, len(tokens), dropped, truncated=dropped > 0 or kept != tokens)

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """Run a non-streaming ``/completion``."""
        return await self._json("POST", "/completion", body)

    async def stream(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Run a streaming ``/completion`` and yield its server-sent events."""
        assert self._client is not None
        async with self._client.stream("POST", "/completion", json=body) as response:
            if response.status_code != 200:
                await response.aread()
                raise UpstreamError(response.status_code, _message(response))
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[6:])
                if "error" in event:
                    raise UpstreamError(500, json.dumps(event["error"]))
                yield event

    async def _json(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        assert self._client is not None, "LlamaCpp.open() was not awaited"
        response = await self._client.request(method, path, json=body)
        if response.status_code != 200:
            raise UpstreamError(response.status_code, _message(response))
        return dict(response.json())


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
    except ValueError:
        return response.text
    return str(error.get("message", error)) if isinstance(error, dict) else str(error)
