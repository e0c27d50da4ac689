"""A wire-faithful Ollama API server backed by the embedded llama.cpp engine.

No Ollama binary can be installed here, so the Ollama backend is tested against this server:
the unmodified ``ollama`` client and ``ChatOllama`` talk HTTP to it on 127.0.0.1, and it
answers with Ollama's JSON shapes, status codes and error texts, generating with llama.cpp.
Sources: Ollama's ``docs/api.md``, ``api/types.go``, ``server/routes.go``, ``server/prompt.go``,
``llm/llama_server.go``, ``server/sched.go``; the ``ollama-python`` 0.6 ``_types.py``.

============================  =========  ===================================================
What                          Status     Notes
============================  =========  ===================================================
routes, methods, 404/405      faithful   ``/``, ``/api/version``, ``/api/tags``,
                                         ``/api/show``, ``/api/ps``, ``/api/chat``,
                                         ``/api/generate``; other Ollama routes answer 404
JSON field names and shapes   faithful   Go ``omitempty`` honoured (zero metrics omitted)
stream default true, NDJSON   faithful   ``application/x-ndjson``, chunked, one JSON a line,
                                         last line ``done: true`` with ``done_reason`` and
                                         the six metrics; errors mid-stream as
                                         ``{"error": ...}`` lines
errors and their texts        faithful   unknown model 404 ``model 'x' not found`` (current
                                         routes.go; ``legacy_not_found=True`` gives older
                                         servers' ``model "x" not found, try pulling it
                                         first``), 400
                                         ``model is required``, busy 503, no tools/thinking
                                         capability 400, bad ``keep_alive`` 400
silent truncation             faithful   message-level drop then token-level cut keeping
                                         ``num_keep`` head tokens; HTTP 200;
                                         ``prompt_eval_count`` = tokens kept
default ``num_ctx``           faithful   4096 (current default below 24 GiB VRAM; 2048 on
                                         old servers: pass ``default_num_ctx``)
``format`` json / schema      faithful   enforced by llama.cpp's ``json_schema`` grammar
``options``                   mapped     sampling options and Ollama's defaults (temp 0.8,
                                         top_k 40, top_p 0.9, repeat_penalty 1.1, min_p 0)
                                         sent to llama.cpp; runner options ignored
``logprobs``, top_logprobs    mapped     from llama.cpp's ``n_probs`` (token, logprob,
                                         bytes, top_logprobs); 0..20 checked (400)
``num_ctx`` above the slot    emulated   capped to llama.cpp's per-slot context (and the
                                         model's training context); Ollama would allocate
``num_predict`` < 0           emulated   generation stops when the slot is full (Ollama
                                         would shift the context and go on)
durations                     emulated   measured here (ns); ``load_duration`` is overhead
``prompt_eval_count``         emulated   all prompt tokens, cached ones included
``tools``                     emulated   accepted when advertised, not rendered into the
                                         prompt, never answered with ``tool_calls``
``truncate: false``           emulated   400 with llama.cpp's context-size message
``/api/show``                 emulated   ``model_info`` read from the GGUF; ``template`` is
                                         the Jinja template; no ``tensors``; stop
                                         parameters are the model's BOS/EOS tokens
``/api/tags`` digest, busy    emulated   digest is a hash of the name; busy is a switch,
                                         not a queue; generate ``context`` re-tokenized
images, suffix, template      no         images ignored; ``suffix`` answers 400 (no insert
                                         capability); ``template`` ignored
============================  =========  ===================================================
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from tests.wire import _ollama_shapes as shapes
from tests.wire._http import LoopbackServer, Recorded, Reply, WireServer
from tests.wire._llamacpp import LlamaCpp, Prompt, UpstreamError, completion_body
from tests.wire._ollama_request import (
    Refusal,
    check_top_logprobs,
    int_option,
    keep_alive,
    num_keep,
    parse_body,
    parse_messages,
    parse_options,
    refuse,
    send_json,
)

__all__ = ["BUSY_ERROR", "DEFAULT_NUM_CTX", "OllamaWire", "PromptRecord", "model_not_found"]

BUSY_ERROR = "server busy, please try again.  maximum pending requests exceeded"
DEFAULT_NUM_CTX = 4096
EMULATED_VERSION = "0.12.0"


def model_not_found(model: str, *, legacy: bool = False) -> str:
    """Return Ollama's error text for a model it lacks (``legacy``: older servers' text)."""
    if legacy:
        return f"model {json.dumps(model)} not found, try pulling it first"
    return f"model '{model}' not found"


@dataclass(frozen=True)
class PromptRecord:
    """How one chat/generate prompt was fitted: what the product must be able to detect."""

    path: str
    num_ctx_requested: int
    num_ctx: int
    original_tokens: int
    prompt_tokens: int
    dropped_messages: int
    truncated: bool


Route = Callable[[Recorded, Reply], Awaitable[None]]


class OllamaWire(WireServer):
    """Serve Ollama's API on 127.0.0.1, generating with an upstream llama.cpp server.

    Args:
        upstream: Root URL of the llama.cpp server (``http://127.0.0.1:<port>``).
        model: The one model name advertised, e.g. ``"smollm2:135m"``.
        default_num_ctx: ``num_ctx`` when a request sets none.
        capabilities: What ``/api/show`` advertises; ``tools`` requests need ``"tools"``.
        max_predict: Optional cap on generated tokens, whatever ``num_predict`` says.
        legacy_not_found: Answer an unknown model with the older text
            ``model "x" not found, try pulling it first`` (still 404).

    Set ``busy = True`` to make ``/api/chat`` and ``/api/generate`` answer 503. Requests are
    in ``requests`` (``.path``, ``.json()``), prompt fitting in ``prompts``.
    """

    def __init__(self, upstream: str, model: str = "smollm2:135m", *,
                 default_num_ctx: int = DEFAULT_NUM_CTX,
                 capabilities: Sequence[str] = ("completion", "tools"),
                 version: str = EMULATED_VERSION, max_predict: int | None = None,
                 legacy_not_found: bool = False) -> None:
        self.model = shapes.display_name(model)
        self.default_num_ctx = default_num_ctx
        self.capabilities = list(capabilities)
        self.version = version
        self.max_predict = max_predict
        self.legacy_not_found = legacy_not_found
        self.busy = False
        self.prompts: list[PromptRecord] = []
        self._upstream = LlamaCpp(upstream)
        self._model_file: dict[str, Any] = {}
        self._loaded: dict[str, Any] | None = None
        self._server = LoopbackServer(self._handle, name="ollama-wire",
                                      startup=self._upstream.open,
                                      shutdown=self._upstream.close)
        self._routes: dict[tuple[str, str], Route] = {
            ("GET", "/"): self._root, ("GET", "/api/version"): self._version,
            ("GET", "/api/tags"): self._tags, ("POST", "/api/show"): self._show,
            ("GET", "/api/ps"): self._ps, ("POST", "/api/chat"): self._chat,
            ("POST", "/api/generate"): self._generate,
        }


    async def _handle(self, request: Recorded, reply: Reply) -> None:
        route = self._routes.get((request.method, request.path))
        try:
            if route is None:
                known = any(path == request.path for _, path in self._routes)
                if known:
                    await reply.send(405, "405 method not allowed")
                else:
                    await reply.send(404, "404 page not found")
                return
            await route(request, reply)
        except httpx.HTTPError as exc:
            # Ollama reports a dead or unreachable runner as a 500 with its error text.
            await refuse(reply, 500, f"llama runner process has terminated: {exc!r}")
        except (Refusal, UpstreamError) as exc:
            await refuse(reply, exc.status, exc.message)

    async def _root(self, request: Recorded, reply: Reply) -> None:
        await send_json(reply, 200, "Ollama is running")

    async def _version(self, request: Recorded, reply: Reply) -> None:
        await send_json(reply, 200, {"version": self.version})

    async def _tags(self, request: Recorded, reply: Reply) -> None:
        info = await self._file_info()
        await send_json(reply, 200, {"models": [{
            "name": self.model, "model": self.model, "modified_at": info["modified_at"],
            "size": info["size"], "digest": info["digest"], "details": info["details"]}]})

    async def _show(self, request: Recorded, reply: Reply) -> None:
        body = parse_body(request)
        model = body.get("model") or body.get("name") or ""
        if not model:
            raise Refusal(400, "model is required")
        self._require(model)
        info = await self._file_info(verbose=bool(body.get("verbose")))
        shown = shapes.show(self.model, info, self.capabilities, self._upstream.props)
        await send_json(reply, 200, shown)

    async def _ps(self, request: Recorded, reply: Reply) -> None:
        models = []
        if self._loaded is not None and self._loaded["expires"] > time.time():
            info = await self._file_info()
            models.append({
                "name": self.model, "model": self.model, "size": info["size"],
                "digest": info["digest"], "details": info["details"],
                "expires_at": shapes.timestamp(self._loaded["expires"]), "size_vram": 0,
                "context_length": self._loaded["num_ctx"]})
        await send_json(reply, 200, {"models": models})

    async def _chat(self, request: Recorded, reply: Reply) -> None:
        started = time.monotonic_ns()
        body = parse_body(request)
        check_top_logprobs(body)
        keep_alive(body)  # Ollama rejects a bad duration while decoding the request
        model = body.get("model") or ""
        if not model:
            raise Refusal(400, "model is required")
        self._require(model)
        messages = parse_messages(body)
        if not messages and keep_alive(body) == 0:
            self._loaded = None
            await send_json(reply, 200, shapes.done_only("chat", model, "unload"))
            return
        num_ctx, requested = self._schedule(model, body, tools=bool(body.get("tools")))
        if not messages:
            await send_json(reply, 200, shapes.done_only("chat", model, "load"))
            return
        loaded = time.monotonic_ns()
        options = parse_options(body)
        prompt = await self._upstream.chat_prompt(
            messages, num_ctx, num_keep(options), body.get("truncate") is not False)
        self._remember(request.path, requested, num_ctx, prompt)
        await self._generate_reply(reply, "chat", model, body, prompt, (started, loaded))

    async def _generate(self, request: Recorded, reply: Reply) -> None:
        started = time.monotonic_ns()
        body = parse_body(request)
        check_top_logprobs(body)
        keep_alive(body)
        model = body.get("model") or ""
        self._require(model)
        text = body.get("prompt") or ""
        if not text and keep_alive(body) == 0:
            self._loaded = None
            await send_json(reply, 200, shapes.done_only("generate", model, "unload"))
            return
        raw = bool(body.get("raw"))
        if raw and (body.get("template") or body.get("system") or body.get("context")):
            raise Refusal(400, "raw mode does not support template, system, or context")
        if body.get("suffix"):
            raise Refusal(400, f"{shapes.full_name(self.model)} does not support insert")
        num_ctx, requested = self._schedule(model, body, tools=False)
        if not text:
            await send_json(reply, 200, shapes.done_only("generate", model, "load"))
            return
        loaded = time.monotonic_ns()
        options = parse_options(body)
        truncate = body.get("truncate") is not False
        if raw:
            tokens = await self._upstream.tokenize(text)
            prompt = self._upstream.text_prompt(tokens, num_ctx, num_keep(options), truncate)
        else:
            system = [{"role": "system", "content": body["system"]}] if body.get("system") else []
            prompt = await self._upstream.chat_prompt(
                [*system, {"role": "user", "content": text}], num_ctx, num_keep(options),
                truncate)
            if body.get("context"):
                prompt = self._upstream.text_prompt(
                    list(body["context"]) + prompt.tokens, num_ctx, num_keep(options), truncate)
        self._remember(request.path, requested, num_ctx, prompt)
        await self._generate_reply(reply, "generate", model, body, prompt, (started, loaded))

    async def _generate_reply(self, reply: Reply, kind: str, model: str, body: dict[str, Any],
                              prompt: Prompt, clock: tuple[int, int]) -> None:
        fmt = body.get("format")
        if fmt not in (None, "", "json") and not isinstance(fmt, dict):
            raise Refusal(500, f'invalid format: {json.dumps(fmt)}; expected "json" or a '
                                "valid JSON Schema")
        options = parse_options(body)
        stream = body.get("stream") is not False
        top = int(body.get("top_logprobs") or 0) if body.get("logprobs") else -1
        request = completion_body(prompt.tokens, options, fmt or None,
                                  self._n_predict(options, len(prompt.tokens)), stream,
                                  n_probs=max(top, 1) if top >= 0 else 0)
        if not stream:
            result = await self._upstream.complete(request)
            done = shapes.done(kind, model, result.get("content", ""), result, len(prompt.tokens),
                               clock) | shapes.logprobs(result, top)
            await self._add_context(kind, body, prompt, result.get("content", ""), done)
            await send_json(reply, 200, done)
            return
        pieces: list[str] = []
        final: dict[str, Any] = {}
        async for event in self._upstream.stream(request):
            if not reply.started:
                await reply.start(200, "application/x-ndjson")
            if event.get("content") or not event.get("stop"):
                pieces.append(event.get("content", ""))
                chunk = shapes.partial(kind, model, pieces[-1]) | shapes.logprobs(event, top)
                await reply.chunk(shapes.line(chunk))
            if event.get("stop"):
                final = event
        done = shapes.done(kind, model, "", final, len(prompt.tokens), clock)
        await self._add_context(kind, body, prompt, "".join(pieces), done)
        if not reply.started:
            await reply.start(200, "application/x-ndjson")
        await reply.chunk(shapes.line(done))
        await reply.end()

    async def _add_context(self, kind: str, body: dict[str, Any], prompt: Prompt, text: str,
                           done: dict[str, Any]) -> None:
        if kind == "generate" and not body.get("raw"):
            done["context"] = prompt.tokens + await self._upstream.tokenize(text)

    def _require(self, model: str) -> None:
        if not shapes.same_model(model, self.model):
            raise Refusal(404, model_not_found(model, legacy=self.legacy_not_found))

    def _schedule(self, model: str, body: dict[str, Any], *, tools: bool) -> tuple[int, int]:
        """Check what Ollama's scheduler checks; return (num_ctx used, num_ctx requested)."""
        think = body.get("think")
        if isinstance(think, str) and think:
            raise Refusal(400, f"think value {json.dumps(think)} is not supported for this "
                                "model")
        if think is True and "thinking" not in self.capabilities:
            raise Refusal(400, f"{json.dumps(model)} does not support thinking")
        if tools and "tools" not in self.capabilities:
            raise Refusal(400, f"{shapes.full_name(self.model)} does not support tools")
        keep = keep_alive(body)
        if self.busy:
            raise Refusal(503, BUSY_ERROR)
        requested = int_option(parse_options(body), "num_ctx") or self.default_num_ctx
        limit = min(self._upstream.slot_ctx, int(self._upstream.meta.get("n_ctx_train") or 1e9))
        num_ctx = min(requested, limit)
        self._loaded = {"expires": time.time() + keep, "num_ctx": num_ctx}
        return num_ctx, requested

    def _n_predict(self, options: dict[str, Any], prompt_len: int) -> int:
        room = self._upstream.slot_ctx - prompt_len
        wanted = int_option(options, "num_predict")
        wanted = room if wanted is None or wanted <= 0 else wanted
        if self.max_predict is not None:
            wanted = min(wanted, self.max_predict)
        return max(0, min(wanted, room))

    def _remember(self, path: str, requested: int, num_ctx: int, prompt: Prompt) -> None:
        self.prompts.append(PromptRecord(path, requested, num_ctx, prompt.original_tokens,
                                         len(prompt.tokens), prompt.dropped_messages,
                                         prompt.truncated))

    async def _file_info(self, *, verbose: bool = False) -> dict[str, Any]:
        key = "verbose" if verbose else "brief"
        if key not in self._model_file:
            path = str(self._upstream.props.get("model_path") or "")
            self._model_file[key] = await shapes.file_info(
                path, self._upstream.props, self._upstream.meta, verbose=verbose,
                digest=hashlib.sha256(f"{self.model}\n{path}".encode()).hexdigest(),
                exists=os.path.isfile(path))
        return dict(self._model_file[key])
