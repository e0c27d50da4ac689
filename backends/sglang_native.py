"""A LangChain chat model over SGLang's native ``POST /generate`` API.

``/generate`` takes raw prompt text, so messages are rendered with the chat
template the SGLang frontend itself picks for the served model. Sampling
parameters go in ``sampling_params`` (``max_new_tokens``, ``top_k`` ...), and a
constraint in exactly one of ``json_schema`` (a JSON *string*), ``regex`` or
``ebnf``. Streaming reads SSE lines carrying the cumulative text, ending in
``data: [DONE]``; ``meta_info`` gives prompt, completion and cached tokens.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from backends.base import Choice, Constraint, Grammar, JsonSchema, Regex
from backends.settings import GenerationParams

__all__ = ["ChatSGLangNative", "choice_regex", "constraint_params", "sampling_params"]

ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "user"}


def choice_regex(options: tuple[str, ...]) -> str:
    """Return a regex matching exactly one of ``options``."""
    return "(" + "|".join(re.escape(option) for option in options) + ")"


def sampling_params(params: GenerationParams) -> dict[str, Any]:
    """Map our sampling vocabulary onto SGLang's ``sampling_params`` names."""
    names = {"temperature": "temperature", "top_p": "top_p", "top_k": "top_k",
             "max_tokens": "max_new_tokens", "repetition_penalty": "repetition_penalty",
             "frequency_penalty": "frequency_penalty", "seed": "sampling_seed"}
    mapped = {names[k]: v for k, v in params.model_dump(exclude_none=True).items() if k in names}
    if params.stop:
        mapped["stop"] = list(params.stop)
    return mapped


def constraint_params(constraint: Constraint) -> dict[str, Any]:
    """Return the one ``sampling_params`` field that makes SGLang enforce ``constraint``."""
    match constraint:
        case JsonSchema(schema):
            return {"json_schema": json.dumps(schema.model_json_schema())}
        case Regex(pattern):
            return {"regex": pattern}
        case Choice(options):
            return {"regex": choice_regex(options)}
        case Grammar(ebnf):
            return {"ebnf": ebnf}


def _usage(meta: dict[str, Any]) -> UsageMetadata:
    prompt, completion = int(meta.get("prompt_tokens", 0)), int(meta.get("completion_tokens", 0))
    return UsageMetadata(input_tokens=prompt, output_tokens=completion,
                         total_tokens=prompt + completion,
                         input_token_details={"cache_read": int(meta.get("cached_tokens", 0))})


def _finish(meta: dict[str, Any]) -> dict[str, Any]:
    reason = meta.get("finish_reason")
    kind = reason.get("type") if isinstance(reason, dict) else reason
    return {"finish_reason": kind, "model_provider": "sglang"} if kind else {}


class ChatSGLangNative(BaseChatModel):
    """Chat over SGLang's ``/generate``, with its own sampling and constraint fields."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    base_url: str
    model: str
    chat_template: str | None = None
    params: GenerationParams = GenerationParams()
    headers: dict[str, str] = {}
    http_client: httpx.Client
    http_async_client: httpx.AsyncClient

    @property
    def _llm_type(self) -> str:
        return "sglang-native"

    def render(self, messages: Sequence[BaseMessage]) -> str:
        """Render ``messages`` with the frontend's chat template for the served model."""
        from sglang.lang.chat_template import get_chat_template, get_chat_template_by_model_path

        template = (get_chat_template(self.chat_template) if self.chat_template
                    else get_chat_template_by_model_path(self.model))
        history: list[dict[str, str]] = []
        parts = []
        for message in messages:
            role = ROLES.get(message.type, "user")
            prefix, suffix = template.get_prefix_and_suffix(role, history)
            parts.append(f"{prefix}{message.content}{suffix}")
            history.append({"role": role, "content": str(message.content)})
        parts.append(template.get_prefix_and_suffix("assistant", history)[0])
        return "".join(parts)

    def _body(self, messages: list[BaseMessage], stop: list[str] | None,
              stream: bool, kwargs: dict[str, Any]) -> dict[str, Any]:
        sampling = sampling_params(self.params)
        if stop:
            sampling["stop"] = stop
        sampling.update(kwargs.get("sampling_extra", {}))
        return {"text": self.render(messages), "sampling_params": sampling, "stream": stream}

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        response = self.http_client.post(f"{self.base_url}/generate", headers=self.headers,
                                         json=self._body(messages, stop, False, kwargs))
        response.raise_for_status()
        return self._result(response.json())

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None,
                         **kwargs: Any) -> ChatResult:
        response = await self.http_async_client.post(
            f"{self.base_url}/generate", headers=self.headers,
            json=self._body(messages, stop, False, kwargs))
        response.raise_for_status()
        return self._result(response.json())

    def _result(self, reply: dict[str, Any]) -> ChatResult:
        meta = reply.get("meta_info", {})
        message = AIMessage(content=reply["text"], usage_metadata=_usage(meta),
                            response_metadata=_finish(meta))
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        sent = ""
        meta: dict[str, Any] = {}
        async with self.http_async_client.stream(
                "POST", f"{self.base_url}/generate", headers=self.headers,
                json=self._body(messages, stop, True, kwargs)) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[len("data:"):].strip()
                if data == "[DONE]":
                    break
                event = json.loads(data)
                meta = event.get("meta_info", meta)
                text = event.get("text", "")
                delta, sent = text[len(sent):], text  # SGLang streams cumulative text
                if delta:
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                    if run_manager:
                        await run_manager.on_llm_new_token(delta, chunk=chunk)
                    yield chunk
        yield ChatGenerationChunk(message=AIMessageChunk(
            content="", usage_metadata=_usage(meta), response_metadata=_finish(meta)))
