"""A loopback SGLang server for tests, backed by llama.cpp (the embedded engine).

SGLang's runtime needs a GPU, so tests talk to this stand-in instead. It speaks
SGLang 0.4.10's native and OpenAI wire formats (checked against
``sglang/srt/entrypoints/http_server.py``, ``managers/io_struct.py``,
``managers/tokenizer_manager.py`` and ``sampling/sampling_params.py``, plus the
frontend's ``lang/backend/runtime_endpoint.py``) and turns each request into
llama.cpp ``/completion`` or ``/v1/chat/completions`` calls.

=========================  =================================================================
Wire feature               How it is served
=========================  =================================================================
``GET /health``,           faithful: 200, empty body (``/health_generate`` asks llama.cpp's
``/health_generate``       ``/health`` instead of generating one token)
``GET /get_model_info``,   faithful shape; ``model_path`` is what the constructor advertises
``/model_info``
``GET /get_server_info``   subset of the real server args (context_length, port, ...)
``GET /v1/models``         faithful (``owned_by: sglang``, ``root``, ``max_model_len``)
``POST /flush_cache``      faithful reply; no-op upstream (llama.cpp only erases slots when
                           started with ``--slot-save-path``)
``/generate`` batching     faithful: ``text``/``input_ids`` single or list, per-item
                           ``sampling_params``, ``n`` > 1 fans out text-major, list replies
``/generate`` validation   faithful messages (``SamplingParams.verify``); 400
                           ``{"error": {"message"}}``; with ``stream`` the error is an SSE
                           event on a 200, as SGLang does. An unknown sampling param is a
                           400 here (SGLang fails with a 500 from its TypeError)
``/generate`` streaming    faithful: ``data: {"text": <cumulative>, "meta_info"}`` events,
                           ``index`` on batches, then ``data: [DONE]``
``meta_info``              faithful keys: id, finish_reason (``stop``+``matched`` token id or
                           string, ``length``+``length``), prompt/completion/cached tokens,
                           e2e_latency on the last event
sampling params            mapped: temperature, top_p, top_k (-1 -> off), min_p, penalties
                           (``repetition_penalty`` -> ``repeat_penalty``), ignore_eos, stop,
                           logit_bias, no_stop_trim. EMULATED: ``stop_token_ids`` become
                           stop strings. Accepted, not enforced: ``min_new_tokens``,
                           ``skip_special_tokens``, ``spaces_between_special_tokens``
``json_schema`` (string)   translated: llama.cpp ``json_schema`` (llguidance in this build)
``regex``                  translated the way SGLang's own llguidance grammar backend does:
                           a Lark grammar ``start: /regex/`` for llama.cpp's llguidance; the
                           regex is checked with Python's ``re`` first (400 if invalid)
constraint guard           llama.cpp silently decodes unconstrained when llguidance cannot
                           compile a regex or schema; an output that ends on EOS but does not
                           match (regex) or parse (json_schema) becomes SGLang's 400 (in a
                           stream: an error event after the text). Outputs cut by
                           ``max_new_tokens`` or a stop string are not checked
``ebnf``                   translated: passed to llama.cpp as GBNF (xgrammar's EBNF is the
                           same notation); a grammar llama.cpp rejects gives SGLang's 400
``structural_tag``         not emulated: 400
``max_new_tokens: 0``      prefill via llama.cpp (which samples one token that is dropped);
                           reply text "" and ``completion_tokens`` 0
``return_logprob``         output logprobs (and top-k): real values from llama.cpp
                           ``n_probs``. Input (prompt) logprobs: EMULATED - llama.cpp cannot
                           score a prompt; ``input_top_logprobs`` is always empty
``select`` scoring         EMULATED: a batch of texts with ``max_new_tokens: 0`` and
                           ``return_logprob`` is read as the frontend's ``select``: the texts'
                           common prefix is decoded greedily under a GBNF alternation of the
                           differing suffixes, and ``input_token_logprobs`` are made up so that
                           the decoded option wins (the chosen text's tokens -0.05; in the
                           others, tokens ending inside the shared prefix -0.05, the rest
                           -30.0). Token ids and texts come from llama.cpp. The first entry is
                           ``None`` as SGLang pads it, so the frontend's default
                           ``token_length_normalized`` works while ``greedy_token_selection``
                           and ``unconditional_likelihood_normalized`` raise in numpy, as they
                           would against a real 0.4.10 server by our reading of its code
``/v1/chat/completions``   forwarded; SGLang extras translated (regex, ebnf, json_schema,
                           top_k, min_p, repetition_penalty, stop_token_ids), SGLang's chat
                           defaults applied, ``response_format`` passed through, usage as with
                           ``--enable-cache-report``; streaming forwarded event by event
=========================  =================================================================

Every request is recorded (method, path, JSON body, Authorization header) in
``SGLangWire.requests`` so tests can check what a client put on the wire.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from backends.embedded import engine_at
from tests.wire._http import START_TIMEOUT_S, STOP_TIMEOUT_S

__all__ = ["CHATML_MODEL_PATH", "RecordedRequest", "SGLangWire", "WireError"]

# The frontend picks its chat template from the advertised model_path. SmolLM2 speaks ChatML,
# but sglang 0.4.10 maps "SmolLM2" to its "default" (SYSTEM:/USER:) template; a name that
# contains "tinyllama" selects the plain "chatml" template (no default system prompt).
CHATML_MODEL_PATH = "HuggingFaceTB/SmolLM2-135M-Instruct-tinyllama-chatml"
SGLANG_VERSION = "0.4.10.post2"

_TOP_K_ALL = 1 << 30
_EPS = 1e-6
_CHOSEN_LOGPROB = -0.05
_REJECTED_LOGPROB = -30.0
_GRAMMAR_KEYS = {"json_schema": "json", "regex": "regex", "ebnf": "ebnf"}
_SAMPLING_DEFAULTS: dict[str, Any] = {
    "max_new_tokens": 128, "stop": None, "stop_token_ids": None, "temperature": 1.0,
    "top_p": 1.0, "top_k": -1, "min_p": 0.0, "frequency_penalty": 0.0,
    "presence_penalty": 0.0, "repetition_penalty": 1.0, "min_new_tokens": 0, "n": 1,
    "json_schema": None, "regex": None, "ebnf": None, "structural_tag": None,
    "ignore_eos": False, "skip_special_tokens": True, "spaces_between_special_tokens": True,
    "no_stop_trim": False, "custom_params": None, "stream_interval": None, "logit_bias": None,
}
_CHAT_DEFAULTS = {"temperature": 0.7, "top_p": 1.0, "top_k": -1, "min_p": 0.0}
_CHAT_ONLY_SGLANG = (
    "min_tokens", "no_stop_trim", "continue_final_message", "skip_special_tokens", "lora_path",
    "session_params", "separate_reasoning", "stream_reasoning", "chat_template_kwargs", "rid",
    "return_hidden_states", "bootstrap_host", "bootstrap_port", "bootstrap_room",
)


class WireError(Exception):
    """A request SGLang would refuse; ``message`` is SGLang's wording."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class RecordedRequest:
    """One request as it arrived."""

    method: str
    path: str
    json: Any
    authorization: str | None


@dataclass
class _Job:
    prompt: str | list[int]
    params: dict[str, Any]
    rid: str
    return_logprob: bool = False
    logprob_start_len: int = -1
    top_logprobs_num: int = 0
    text_in_logprobs: bool = False
    stop_ids: dict[str, int] = field(default_factory=dict)


def _pick(value: Any, index: int) -> Any:
    """Return a per-item value from a scalar-or-list field (the frontend sends ``[null]``)."""
    if isinstance(value, list):
        return value[index] if index < len(value) else None
    return value


def _verify(sp: dict[str, Any]) -> dict[str, Any]:
    """Apply SGLang's defaults and ``SamplingParams.verify`` checks, with its messages."""
    unknown = sorted(set(sp) - set(_SAMPLING_DEFAULTS))
    if unknown:
        raise WireError(f"SamplingParams.__init__() got an unexpected keyword argument "
                        f"'{unknown[0]}'")
    p = {**_SAMPLING_DEFAULTS, **sp}
    top_k = 1 if 0 <= p["temperature"] < _EPS else p["top_k"]
    top_k = _TOP_K_ALL if top_k == -1 else top_k
    checks = [
        (p["temperature"] < 0, f"temperature must be non-negative, got {p['temperature']}."),
        (not 0.0 < p["top_p"] <= 1.0, f"top_p must be in (0, 1], got {p['top_p']}."),
        (not 0.0 <= p["min_p"] <= 1.0, f"min_p must be in [0, 1], got {p['min_p']}."),
        (top_k < 1, f"top_k must be -1 (disable) or at least 1, got {top_k}."),
        (not -2.0 <= p["frequency_penalty"] <= 2.0,
         f"frequency_penalty must be in [-2, 2], got {p['frequency_penalty']}."),
        (not -2.0 <= p["presence_penalty"] <= 2.0,
         f"presence_penalty must be in [-2, 2], got {p['presence_penalty']}."),
        (not 0.0 <= p["repetition_penalty"] <= 2.0,
         f"repetition_penalty must be in [0, 2], got {p['repetition_penalty']}."),
        (p["min_new_tokens"] < 0,
         f"min_new_tokens must be in [0, max_new_tokens], got {p['min_new_tokens']}."),
        (p["max_new_tokens"] is not None and p["max_new_tokens"] < 0,
         f"max_new_tokens must be at least 0, got {p['max_new_tokens']}."),
        (p["max_new_tokens"] is not None and p["min_new_tokens"] > p["max_new_tokens"],
         f"min_new_tokens must be in [0, max_new_tokens({p['max_new_tokens']})], got "
         f"{p['min_new_tokens']}."),
        (sum(p[k] is not None for k in _GRAMMAR_KEYS) > 1,
         "Only one of regex, json_schema, or ebnf can be set."),
    ]
    for failed, message in checks:
        if failed:
            raise WireError(message)
    if p["structural_tag"] is not None:
        raise WireError("structural_tag is not emulated by this SGLang wire server")
    return p


def _grammar_fields(kind: str, value: str) -> dict[str, Any]:
    """Translate one SGLang constraint into llama.cpp request fields."""
    invalid = _invalid_grammar(_GRAMMAR_KEYS[kind], value)
    if kind == "json_schema":
        if value == "$$ANY$$":
            return {"json_schema": {}}
        try:
            return {"json_schema": json.loads(value)}
        except json.JSONDecodeError:
            raise invalid from None
    if kind == "regex":
        try:
            re.compile(value)
        except re.error:
            raise invalid from None
        return {"grammar": "%llguidance {}\nstart: /" + _lark_regex_body(value) + "/"}
    return {"grammar": value}


def _invalid_grammar(kind: str, value: str) -> WireError:
    return WireError(f"Invalid grammar request: req.grammar_key={(kind, value)!r}")


def _lark_regex_body(regex: str) -> str:
    """Escape a regex for a Lark ``/.../`` literal: bare slashes and raw line breaks."""
    out: list[str] = []
    chars = iter(regex)
    for ch in chars:
        if ch == "\\":
            out.append(ch + next(chars, "\\"))
        else:
            out.append({"/": "\\/", "\n": "\\n", "\r": "\\r"}.get(ch, ch))
    return "".join(out)


def _gbnf_literal(text: str) -> str:
    escaped = "".join(
        {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(c, c) for c in text
    )
    return f'"{escaped}"'


def _closest(options: list[str], decoded: str) -> int:
    """Return the index of the option the constrained decode produced (or came closest to)."""
    if decoded in options:
        return options.index(decoded)
    overlap = [len(os.path.commonprefix([o, decoded])) for o in options]
    return overlap.index(max(overlap))


def _sse(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\n\n"


class SGLangWire:
    """An SGLang-compatible HTTP server on 127.0.0.1 that forwards to a llama.cpp server."""

    def __init__(
        self,
        upstream: str,
        model_path: str = CHATML_MODEL_PATH,
        *,
        api_key: str | None = None,
        enable_cache_report: bool = True,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.model_path = model_path
        self.api_key = api_key
        self.enable_cache_report = enable_cache_report
        self.requests: list[RecordedRequest] = []
        self.context_length = 0
        self.total_slots = 0
        self._eos_id = 0
        self._port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None

    @property
    def base_url(self) -> str:
        """Return ``http://127.0.0.1:<port>`` (only valid once started)."""
        if not self._port:
            raise RuntimeError("SGLangWire is not started")
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> str:
        """Start serving in a background thread with its own event loop; return the base URL."""
        if self._thread is not None:
            return self.base_url
        loop = asyncio.new_event_loop()
        started: asyncio.Future[None] = loop.create_future()
        self._loop = loop
        self._thread = threading.Thread(
            target=self._run, args=(loop, started), name="sglang-wire", daemon=True
        )
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._wait(started), loop).result(
                timeout=START_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise
        return self.base_url

    def stop(self) -> None:
        """Stop the server and its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=STOP_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=STOP_TIMEOUT_S)
        loop.close()
        self._loop = self._thread = None
        self._port = 0

    def __enter__(self) -> SGLangWire:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def paths(self) -> list[str]:
        """Return ``"METHOD /path"`` for every recorded request, in arrival order."""
        return [f"{r.method} {r.path}" for r in self.requests]

    # --- lifecycle (runs on the server's loop) ---

    def _run(self, loop: asyncio.AbstractEventLoop, started: asyncio.Future[None]) -> None:
        asyncio.set_event_loop(loop)
        opening = loop.create_task(self._open(started))  # referenced until the loop stops
        loop.run_forever()
        del opening

    @staticmethod
    async def _wait(started: asyncio.Future[None]) -> None:
        await started

    async def _open(self, started: asyncio.Future[None]) -> None:
        try:
            self._session = ClientSession(timeout=ClientTimeout(total=600), trust_env=False)
            await self._read_upstream_props()
            app = web.Application(middlewares=[self._record_and_auth])
            self._add_routes(app)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", 0).start()
            self._port = self._runner.addresses[0][1]
        except Exception as exc:  # handed to start(), which re-raises it in the caller
            await self._close()
            started.set_exception(exc)
        else:
            started.set_result(None)

    async def _close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _read_upstream_props(self) -> None:
        engine = engine_at(self.upstream)
        # Another GET /props would make this llama.cpp build drop a later keep-alive stream.
        props = engine.props if engine is not None else await self._get_json("/props")
        models = await self._get_json("/v1/models")
        self.total_slots = int(props.get("total_slots", 1))
        self.context_length = int(models["data"][0]["meta"]["n_ctx"])
        eos = await self._post_json("/tokenize", {"content": props.get("eos_token", "")})
        self._eos_id = (eos.get("tokens") or [0])[-1]

    def _add_routes(self, app: web.Application) -> None:
        r = app.router
        for path in ("/health", "/health_generate"):
            r.add_get(path, self._health)
        for path in ("/get_model_info", "/model_info"):
            r.add_get(path, self._model_info)
        for path in ("/get_server_info", "/server_info"):
            r.add_get(path, self._server_info)
        r.add_get("/v1/models", self._models)
        r.add_get("/v1/models/{model:.+}", self._model)
        r.add_route("*", "/flush_cache", self._flush_cache)
        r.add_post("/generate", self._generate)
        r.add_put("/generate", self._generate)
        r.add_post("/v1/chat/completions", self._chat)

    @web.middleware
    async def _record_and_auth(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        auth = request.headers.get("Authorization")
        self.requests.append(RecordedRequest(request.method, request.path, body, auth))
        exempt = request.path.startswith(("/health", "/metrics")) or request.method == "OPTIONS"
        if self.api_key and not exempt and auth != f"Bearer {self.api_key}":
            return web.json_response({"error": "Unauthorized"}, status=401)
        return await handler(request)

    # --- upstream helpers ---

    async def _get_json(self, path: str) -> Any:
        assert self._session is not None
        async with self._session.get(self.upstream + path) as resp:
            resp.raise_for_status()
            return await resp.json()

    async def _post_json(self, path: str, body: dict[str, Any]) -> Any:
        assert self._session is not None
        async with self._session.post(self.upstream + path, json=body) as resp:
            reply = await resp.json(content_type=None)
            if resp.status != 200:
                raise self._upstream_error(reply, body)
            return reply

    def _upstream_error(self, reply: Any, sent: dict[str, Any]) -> WireError:
        error = reply.get("error", {}) if isinstance(reply, dict) else {}
        if error.get("type") == "exceed_context_size_error":
            return WireError(
                f"The input ({error.get('n_prompt_tokens')} tokens) is longer than the model's "
                f"context length ({error.get('n_ctx')} tokens)."
            )
        if "grammar" in str(error.get("message", "")) and "grammar" in sent:
            return _invalid_grammar("ebnf", sent["grammar"])
        return WireError(str(error.get("message", reply)), int(error.get("code", 500)))

    async def _tokens(self, prompt: str | list[int], with_text: bool) -> list[tuple[int, str]]:
        """Return (token id, token text) pairs as llama.cpp tokenizes ``prompt``."""
        if isinstance(prompt, str):
            reply = await self._post_json(
                "/tokenize", {"content": prompt, "add_special": True, "with_pieces": True}
            )
            return [(t["id"], _piece_text(t["piece"])) for t in reply["tokens"]]
        if not with_text:
            return [(i, "") for i in prompt]
        texts = await asyncio.gather(*(self._detokenize(i) for i in prompt))
        return list(zip(prompt, texts, strict=True))

    async def _detokenize(self, token_id: int) -> str:
        return str((await self._post_json("/detokenize", {"tokens": [token_id]}))["content"])

    # --- small routes ---

    async def _health(self, request: web.Request) -> web.Response:
        if request.path == "/health_generate":
            try:
                await self._get_json("/health")
            except ClientError:
                return web.Response(status=503)
        return web.Response(status=200)

    async def _model_info(self, request: web.Request) -> web.Response:
        return web.json_response({
            "model_path": self.model_path, "tokenizer_path": self.model_path,
            "is_generation": True, "preferred_sampling_params": None,
            "weight_version": "default", "has_image_understanding": False,
            "has_audio_understanding": False, "model_type": "llama",
            "architectures": ["LlamaForCausalLM"],
        })

    async def _server_info(self, request: web.Request) -> web.Response:
        return web.json_response({
            "model_path": self.model_path, "tokenizer_path": self.model_path,
            "served_model_name": self.model_path, "host": "127.0.0.1", "port": self._port,
            "context_length": self.context_length, "chat_template": None,
            "skip_tokenizer_init": False, "stream_output": False,
            "max_running_requests": self.total_slots,
            "max_total_num_tokens": self.context_length * self.total_slots,
            "grammar_backend": "llguidance", "enable_cache_report": self.enable_cache_report,
            "api_key": None, "internal_states": [{"last_gen_throughput": 0.0}],
            "version": SGLANG_VERSION,
        })

    def _card(self) -> dict[str, Any]:
        return {"id": self.model_path, "object": "model", "created": int(time.time()),
                "owned_by": "sglang", "root": self.model_path,
                "max_model_len": self.context_length}

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [self._card()]})

    async def _model(self, request: web.Request) -> web.Response:
        name = request.match_info["model"]
        if name != self.model_path:
            return web.json_response({"error": {
                "message": f"The model '{name}' does not exist", "type": "invalid_request_error",
                "param": "model", "code": "model_not_found"}}, status=404)
        return web.json_response(self._card())

    async def _flush_cache(self, request: web.Request) -> web.Response:
        return web.Response(text="Cache flushed.\nPlease check backend logs for more details. "
                            "(When there are running or waiting requests, the operation will "
                            "not be performed.)\n")

    # --- /generate ---

    async def _generate(self, request: web.Request) -> web.StreamResponse:
        t0 = time.monotonic()
        body = await request.json()
        if body.get("stream"):
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            try:
                jobs, batch = await self._jobs(body)
                async for out in self._stream_outputs(jobs, batch, t0):
                    await response.write(_sse(out))
            except WireError as exc:
                await response.write(_sse({"error": {"message": exc.message}}))
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
            return response
        try:
            jobs, batch = await self._jobs(body)
            outputs = await self._complete_outputs(jobs, t0)
        except WireError as exc:
            return web.json_response({"error": {"message": exc.message}}, status=exc.status)
        return web.json_response(outputs if batch else outputs[0])

    async def _jobs(self, body: dict[str, Any]) -> tuple[list[_Job], bool]:
        """Expand a GenerateReqInput into one job per output, as SGLang orders them."""
        text, ids = body.get("text"), body.get("input_ids")
        if (text is None) == (ids is None):
            raise WireError("Either text, input_ids or input_embeds should be provided.")
        if ids is not None and len(ids) == 0:
            raise WireError("input_ids cannot be empty.")
        single = isinstance(text, str) or (ids is not None and isinstance(ids[0], int))
        prompts: list[Any] = [text if text is not None else ids] if single else (text or ids)
        raw_sp = body.get("sampling_params") or {}
        sps = raw_sp if isinstance(raw_sp, list) else [raw_sp] * len(prompts)
        n = int(sps[0].get("n", 1)) if sps else 1
        if any(int(sp.get("n", 1)) != n for sp in sps):
            raise WireError(
                "The parallel_sample_num should be the same for all samples in sample params."
            )
        jobs = []
        for i, prompt in enumerate(prompts):
            params = _verify(sps[i])
            start = _pick(body.get("logprob_start_len"), i)
            job = _Job(
                prompt=prompt, params=params,
                rid=str(_pick(body.get("rid"), i) or uuid.uuid4().hex),
                return_logprob=bool(_pick(body.get("return_logprob"), i)),
                logprob_start_len=-1 if start is None else int(start),
                top_logprobs_num=int(_pick(body.get("top_logprobs_num"), i) or 0),
                text_in_logprobs=bool(_pick(body.get("return_text_in_logprobs"), i)),
            )
            for token_id in params["stop_token_ids"] or []:
                job.stop_ids[await self._detokenize(token_id)] = token_id
            jobs += [job] if n == 1 else [_copy_job(job) for _ in range(n)]
        return jobs, not single or n > 1

    def _llama_body(self, job: _Job, stream: bool) -> dict[str, Any]:
        p = job.params
        greedy = p["temperature"] < _EPS
        stops = [p["stop"]] if isinstance(p["stop"], str) else list(p["stop"] or [])
        n_predict = -1 if p["max_new_tokens"] is None else p["max_new_tokens"]
        body: dict[str, Any] = {
            "prompt": job.prompt, "n_predict": n_predict,
            "temperature": 0.0 if greedy else p["temperature"], "top_p": p["top_p"],
            "top_k": 0 if p["top_k"] in (-1, _TOP_K_ALL) else p["top_k"], "min_p": p["min_p"],
            "frequency_penalty": p["frequency_penalty"],
            "presence_penalty": p["presence_penalty"],
            "repeat_penalty": p["repetition_penalty"], "ignore_eos": p["ignore_eos"],
            "stop": stops + list(job.stop_ids), "cache_prompt": True, "return_tokens": True,
            "stream": stream, "timings_per_token": stream,
        }
        if p["logit_bias"]:
            body["logit_bias"] = {str(k): v for k, v in p["logit_bias"].items()}
        if job.return_logprob:
            body["n_probs"] = max(job.top_logprobs_num, 1)
        for kind in _GRAMMAR_KEYS:
            if p[kind] is not None:
                body.update(_grammar_fields(kind, p[kind]))
        return body

    def _finish_reason(self, job: _Job, reply: dict[str, Any]) -> dict[str, Any]:
        stop_type = reply.get("stop_type")
        if stop_type == "eos":
            tokens = reply.get("tokens") or [self._eos_id]
            return {"type": "stop", "matched": tokens[-1]}
        if stop_type == "word":
            word = reply.get("stopping_word", "")
            return {"type": "stop", "matched": job.stop_ids.get(word, word)}
        return {"type": "length",
                "length": job.params["max_new_tokens"] or reply.get("tokens_predicted", 0)}

    def _meta(self, job: _Job, reply: dict[str, Any], t0: float | None) -> dict[str, Any]:
        """Build meta_info; ``t0`` is given only for the final event of a request."""
        meta: dict[str, Any] = {
            "id": job.rid,
            "finish_reason": None if t0 is None else self._finish_reason(job, reply),
            "prompt_tokens": reply.get("tokens_evaluated", 0),
            "completion_tokens": reply.get("tokens_predicted", 0),
            "cached_tokens": (reply.get("timings") or {}).get("cache_n", 0),
        }
        if t0 is not None:
            meta["e2e_latency"] = time.monotonic() - t0
        return meta

    def _final_text(self, job: _Job, reply: dict[str, Any], text: str) -> str:
        """Return the reply's text; refuse it if llama.cpp dropped the request's constraint.

        llama.cpp (llguidance build) answers 200 and decodes unconstrained when llguidance
        cannot compile a regex (e.g. a lookahead) or schema, where SGLang answers 400.
        """
        p = job.params
        if reply.get("stop_type") == "eos" and (
            (p["regex"] is not None and not re.fullmatch(p["regex"], text))
            or (p["json_schema"] is not None and not _parses(text))
        ):
            kind = "regex" if p["regex"] is not None else "json_schema"
            raise _invalid_grammar(_GRAMMAR_KEYS[kind], p[kind])
        if p["no_stop_trim"] and reply.get("stop_type") == "word":
            return text + reply.get("stopping_word", "")
        return text

    async def _complete_outputs(self, jobs: list[_Job], t0: float) -> list[dict[str, Any]]:
        if len(jobs) > 1 and all(
            j.return_logprob and j.params["max_new_tokens"] == 0 and isinstance(j.prompt, str)
            for j in jobs
        ):
            return await self._score_choices(jobs, t0)
        return list(await asyncio.gather(*(self._complete_one(j, t0) for j in jobs)))

    async def _complete_one(self, job: _Job, t0: float) -> dict[str, Any]:
        reply = await self._post_json("/completion", self._llama_body(job, stream=False))
        prefill_only = job.params["max_new_tokens"] == 0
        text = "" if prefill_only else self._final_text(job, reply, reply.get("content", ""))
        meta = self._meta(job, reply, t0)
        if prefill_only:
            meta.update(completion_tokens=0, finish_reason={"type": "length", "length": 0})
        if job.return_logprob:
            tokens = await self._tokens(job.prompt, job.text_in_logprobs)
            meta["input_token_logprobs"] = self._input_logprobs(job, tokens, lambda end: True)
            meta.update(self._output_logprobs(job, [] if prefill_only else reply))
        return {"text": text, "meta_info": meta}

    async def _score_choices(self, jobs: list[_Job], t0: float) -> list[dict[str, Any]]:
        """Emulate SGLang's prompt scoring for ``select``: decode which suffix the model picks."""
        texts = [str(j.prompt) for j in jobs]
        prefix = os.path.commonprefix(texts)
        suffixes = [t[len(prefix):] for t in texts]
        winner = suffixes[0]
        if len(set(suffixes)) > 1:
            grammar = "root ::= " + " | ".join(_gbnf_literal(s) for s in dict.fromkeys(suffixes))
            decoded = await self._post_json("/completion", {
                "prompt": prefix, "n_predict": max(map(len, suffixes)) + 1, "temperature": 0.0,
                "grammar": grammar, "cache_prompt": True,
            })
            winner = suffixes[_closest(suffixes, decoded.get("content", ""))]
        token_lists = await asyncio.gather(*(self._tokens(t, True) for t in texts))
        outputs = []
        for job, suffix, tokens in zip(jobs, suffixes, token_lists, strict=True):
            chosen = suffix == winner
            meta = {
                "id": job.rid, "finish_reason": {"type": "length", "length": 0},
                "prompt_tokens": len(tokens),
                "input_token_logprobs": self._input_logprobs(
                    job, tokens, lambda end, chosen=chosen: chosen or end < len(prefix)
                ),
                "output_token_logprobs": [], "completion_tokens": 0, "cached_tokens": 0,
                "e2e_latency": time.monotonic() - t0,
            }
            outputs.append({"text": "", "meta_info": meta})
        return outputs

    def _input_logprobs(
        self, job: _Job, tokens: list[tuple[int, str]], favoured: Callable[[int], bool]
    ) -> list[list[Any]]:
        """Make up prompt logprobs from ``logprob_start_len`` on; the first is None as in SGLang.

        ``favoured(end)`` tells, by the character offset where a token ends, whether it
        gets the "chosen" logprob or the "rejected" one.
        """
        start = len(tokens) - 1 if job.logprob_start_len < 0 else job.logprob_start_len
        if start >= len(tokens):
            raise WireError(
                f"req.logprob_start_len={start} is higher than the number of input tokens "
                f"len(req.origin_input_ids)={len(tokens)}. Please use a smaller logprob_start_len."
            )
        entries, end = [], 0
        for k, (token_id, text) in enumerate(tokens):
            end += len(text)
            if k >= start:
                value = _CHOSEN_LOGPROB if favoured(end) else _REJECTED_LOGPROB
                entries.append([None if k == start else value, token_id,
                                text if job.text_in_logprobs else None])
        return entries

    def _output_logprobs(self, job: _Job, reply: Any) -> dict[str, Any]:
        probs = reply.get("completion_probabilities", []) if reply else []

        def entry(p: dict[str, Any]) -> list[Any]:
            return [p["logprob"], p["id"], p["token"] if job.text_in_logprobs else None]

        out: dict[str, Any] = {"output_token_logprobs": [entry(p) for p in probs]}
        if job.top_logprobs_num > 0:
            out["input_top_logprobs"] = []
            out["output_top_logprobs"] = [
                [entry(t) for t in p.get("top_logprobs", [])[: job.top_logprobs_num]]
                for p in probs
            ]
        return out

    async def _stream_outputs(
        self, jobs: list[_Job], batch: bool, t0: float
    ) -> AsyncIterator[dict[str, Any]]:
        if not batch:
            async for out in self._stream_one(jobs[0], t0):
                yield out
            return
        queue: asyncio.Queue[tuple[dict[str, Any] | None, WireError | None]] = asyncio.Queue()

        async def pump(index: int, job: _Job) -> None:
            try:
                async for out in self._stream_one(job, t0):
                    await queue.put(({**out, "index": index}, None))
            except WireError as exc:
                await queue.put((None, exc))
            finally:
                await queue.put((None, None))

        tasks = [asyncio.create_task(pump(i, j)) for i, j in enumerate(jobs)]
        try:
            finished = 0
            while finished < len(tasks):
                out, error = await queue.get()
                if error is not None:
                    raise error
                if out is None:
                    finished += 1
                else:
                    yield out
        finally:
            for task in tasks:
                task.cancel()

    async def _stream_one(self, job: _Job, t0: float) -> AsyncIterator[dict[str, Any]]:
        if job.params["max_new_tokens"] == 0:
            yield await self._complete_one(job, t0)
            return
        assert self._session is not None
        body = self._llama_body(job, stream=True)
        async with self._session.post(self.upstream + "/completion", json=body) as resp:
            if resp.status != 200:
                raise self._upstream_error(await resp.json(content_type=None), body)
            text = ""
            async for raw in resp.content:
                line = raw.strip()
                if not line.startswith(b"data: "):
                    continue
                chunk = json.loads(line[6:])
                if "error" in chunk:
                    raise self._upstream_error(chunk, body)
                text += chunk.get("content", "")
                if chunk.get("stop"):
                    yield {"text": self._final_text(job, chunk, text),
                           "meta_info": self._meta(job, chunk, t0)}
                    return
                if chunk.get("content"):
                    yield {"text": text, "meta_info": self._meta(job, chunk, None)}

    # --- OpenAI chat ---

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        try:
            upstream_body = await self._chat_body(body)
        except WireError as exc:
            return web.json_response({"object": "error", "message": exc.message,
                                      "type": "BadRequestError", "param": None,
                                      "code": exc.status}, status=exc.status)
        assert self._session is not None
        async with self._session.post(
            self.upstream + "/v1/chat/completions", json=upstream_body
        ) as resp:
            if not body.get("stream") or resp.status != 200:
                reply = await resp.json(content_type=None)
                if resp.status != 200:
                    error = self._upstream_error(reply, upstream_body)
                    return web.json_response({"object": "error", "message": error.message,
                                              "type": "BadRequestError", "param": None,
                                              "code": error.status}, status=error.status)
                return web.json_response(self._chat_reply(reply))
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            async for raw in resp.content:
                line = raw.strip()
                if line.startswith(b"data: {"):
                    await response.write(_sse(self._chat_reply(json.loads(line[6:]))))
                elif line == b"data: [DONE]":
                    await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
            return response

    async def _chat_body(self, body: dict[str, Any]) -> dict[str, Any]:
        out = {**_CHAT_DEFAULTS, **body}
        fmt = (body.get("response_format") or {}).get("type")
        constraints = [k for k in ("regex", "ebnf", "json_schema") if body.get(k) is not None]
        if len(constraints) + (fmt in ("json_schema", "json_object")) > 1:
            raise WireError("Only one of regex, json_schema, or ebnf can be set.")
        for kind in constraints:
            value = out.pop(kind)
            text = value if isinstance(value, str) else json.dumps(value)
            out.update(_grammar_fields(kind, text))
        if fmt == "structural_tag":
            raise WireError("structural_tag is not emulated by this SGLang wire server")
        if out["top_k"] == -1:
            out["top_k"] = 0
        if "repetition_penalty" in out:
            out["repeat_penalty"] = out.pop("repetition_penalty")
        stop_ids = out.pop("stop_token_ids", None) or []
        if stop_ids:
            stop = out.get("stop") or []
            stops = [stop] if isinstance(stop, str) else list(stop)
            out["stop"] = stops + [await self._detokenize(i) for i in stop_ids]
        for key in _CHAT_ONLY_SGLANG:
            out.pop(key, None)
        return out

    def _chat_reply(self, reply: dict[str, Any]) -> dict[str, Any]:
        """Make a llama.cpp chat reply or chunk look like SGLang's."""
        out = {k: v for k, v in reply.items() if k not in ("timings", "system_fingerprint")}
        out["model"] = self.model_path
        usage = out.get("usage")
        if usage:
            cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
            usage = {k: v for k, v in usage.items() if k != "prompt_tokens_details"}
            if self.enable_cache_report:
                usage["prompt_tokens_details"] = {"cached_tokens": cached} if cached else None
            out["usage"] = usage
        return out


def _copy_job(job: _Job) -> _Job:
    """Return a parallel sample of ``job`` with its own request id, as SGLang regenerates it."""
    return _Job(**{**job.__dict__, "rid": uuid.uuid4().hex})


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def _piece_text(piece: Any) -> str:
    """Return a token's text; llama.cpp sends bytes (a list of ints) for partial UTF-8."""
    return piece if isinstance(piece, str) else bytes(piece).decode("utf-8", errors="replace")
