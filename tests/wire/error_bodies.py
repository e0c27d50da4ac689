"""Error bodies exactly as each engine sends them, for ``FaultyServer`` scripts.

Context-length errors (all HTTP 400):

* vLLM >= 0.10 (``ErrorResponse{error: ErrorInfo}`` in ``entrypoints/openai/protocol.py``):
  ``{"error": {"message", "type": "BadRequestError", "param": null, "code": 400}}``. Older
  vLLM (and the brief's shape) sent the flat ``{"object": "error", "message", ...}``.
* llama.cpp server: ``{"error": {"code": 400, "message": "request (N tokens) exceeds the
  available context size (M tokens), try increasing it", "type": "exceed_context_size_error",
  "n_prompt_tokens": N, "n_ctx": M}}`` (measured on the embedded xllamacpp build; older builds
  said "the request exceeds the available context size, try increasing it").
* SGLang: the OpenAI routes answer the flat ``{"object": "error", ...}`` shape with
  ``TokenizerManager``'s "The input (N tokens) is longer than the model's context length
  (M tokens)."; the native ``/generate`` route answers ``{"error": {"message": ...}}``.

Overload and failure bodies in OpenAI's shape (429/500/503), llama.cpp's 503 while loading and
Ollama's 503 when its queue is full.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "LLAMACPP_CONTEXT_ERROR", "LLAMACPP_LEGACY_CONTEXT_ERROR", "LLAMACPP_LOADING_503",
    "OLLAMA_BUSY_503", "OPENAI_429", "OPENAI_500", "OPENAI_503", "SGLANG_CONTEXT_ERROR",
    "SGLANG_NATIVE_CONTEXT_ERROR", "VLLM_CONTEXT_ERROR", "VLLM_LEGACY_CONTEXT_ERROR",
    "VLLM_MAX_TOKENS_ERROR", "llamacpp_context_error", "sglang_context_error",
    "vllm_context_error",
]


def vllm_context_error(max_len: int, input_tokens: int) -> dict[str, Any]:
    """Return vLLM's 400 body for a prompt longer than ``max_len``."""
    return {"error": {
        "message": f"This model's maximum context length is {max_len} tokens. However, your "
                   f"request has {input_tokens} input tokens. Please reduce the length of the "
                   "input messages.",
        "type": "BadRequestError", "param": None, "code": 400}}


def llamacpp_context_error(n_prompt: int, n_ctx: int) -> dict[str, Any]:
    """Return llama.cpp server's 400 body for a prompt longer than the slot's context."""
    return {"error": {
        "code": 400,
        "message": f"request ({n_prompt} tokens) exceeds the available context size "
                   f"({n_ctx} tokens), try increasing it",
        "type": "exceed_context_size_error", "n_prompt_tokens": n_prompt, "n_ctx": n_ctx}}


def sglang_context_error(input_tokens: int, context_len: int, *,
                         native: bool = False) -> dict[str, Any]:
    """Return SGLang's 400 body (OpenAI routes, or ``native`` ``/generate``)."""
    message = (f"The input ({input_tokens} tokens) is longer than the model's context length "
               f"({context_len} tokens).")
    if native:
        return {"error": {"message": message}}
    return {"object": "error", "message": message, "type": "BadRequestError", "param": None,
            "code": 400}


VLLM_CONTEXT_ERROR = vllm_context_error(2048, 2100)
VLLM_MAX_TOKENS_ERROR = {"error": {
    "message": "'max_tokens' or 'max_completion_tokens' is too large: 512. This model's maximum "
               "context length is 2048 tokens and your request has 1800 input tokens "
               "(512 > 2048 - 1800). None",
    "type": "BadRequestError", "param": None, "code": 400}}
VLLM_LEGACY_CONTEXT_ERROR = {
    "object": "error",
    "message": "This model's maximum context length is 2048 tokens. However, you requested "
               "2100 tokens (1900 in the messages, 200 in the completion). Please reduce the "
               "length of the messages or completion.",
    "type": "BadRequestError", "param": None, "code": 400}
LLAMACPP_CONTEXT_ERROR = llamacpp_context_error(2101, 2048)
LLAMACPP_LEGACY_CONTEXT_ERROR = {"error": {
    "code": 400, "message": "the request exceeds the available context size, try increasing it",
    "type": "exceed_context_size_error", "n_prompt_tokens": 2101, "n_ctx": 2048}}
LLAMACPP_LOADING_503 = {"error": {"code": 503, "message": "Loading model",
                                  "type": "unavailable_error"}}
SGLANG_CONTEXT_ERROR = sglang_context_error(2100, 2048)
SGLANG_NATIVE_CONTEXT_ERROR = sglang_context_error(2100, 2048, native=True)
OPENAI_429 = {"error": {"message": "Rate limit reached for requests. Please try again later.",
                        "type": "requests", "param": None, "code": "rate_limit_exceeded"}}
OPENAI_500 = {"error": {"message": "The server had an error while processing your request. "
                                   "Sorry about that!",
                        "type": "server_error", "param": None, "code": None}}
OPENAI_503 = {"error": {"message": "The engine is currently overloaded, please try again later.",
                        "type": "server_error", "param": None, "code": None}}
OLLAMA_BUSY_503 = {"error": "server busy, please try again.  maximum pending requests exceeded"}
