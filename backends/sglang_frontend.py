"""SGLang's frontend language, for what it expresses best.

``select`` chooses among fixed options by scoring each against the prompt, and
``fork`` runs N continuations from one shared prefix, which the server's
RadixAttention computes once. The frontend's ``RuntimeEndpoint`` talks over
blocking ``requests`` (and fetches ``/get_model_info`` when built), so it is
created lazily and only ever used from a worker thread.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from backends.config import api_key
from backends.settings import GenerationParams, SGLangBackend

__all__ = ["fork_continuations", "select_option"]

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}
_endpoints: dict[SGLangBackend, Any] = {}
_lock = threading.Lock()


def _endpoint(cfg: SGLangBackend) -> Any:
    import sglang as sgl

    with _lock:
        endpoint = _endpoints.get(cfg)
        if endpoint is None:
            endpoint = _endpoints[cfg] = sgl.RuntimeEndpoint(
                cfg.base_url, api_key=api_key(cfg), chat_template_name=cfg.chat_template)
        return endpoint


def _turns(messages: Sequence[BaseMessage]) -> list[tuple[str, str]]:
    return [(_ROLES.get(m.type, "user"), str(m.content)) for m in messages]


@functools.cache
def _programs() -> tuple[Any, Any]:
    import sglang as sgl

    @sgl.function  # type: ignore[untyped-decorator]
    def choose(s: Any, turns: list[tuple[str, str]], options: list[str]) -> None:
        for role, content in turns:
            s += getattr(sgl, role)(content)
        s += sgl.assistant(sgl.select("choice", choices=options))

    @sgl.function  # type: ignore[untyped-decorator]
    def fork(s: Any, turns: list[tuple[str, str]], width: int,
             sampling: dict[str, Any]) -> list[str]:
        for role, content in turns:
            s += getattr(sgl, role)(content)
        branches = s.fork(width)  # "n" would be taken by run()'s own n keyword
        for branch in branches:
            branch += sgl.assistant(sgl.gen("text", **sampling))
        return [branch["text"] for branch in branches]

    return choose, fork


async def select_option(
    cfg: SGLangBackend, messages: Sequence[BaseMessage], options: Sequence[str]
) -> str:
    """Return the option SGLang scores most likely as the assistant's reply."""
    choose, _ = _programs()

    def run() -> str:
        state = choose.run(turns=_turns(messages), options=list(options), backend=_endpoint(cfg))
        return str(state["choice"])

    return await asyncio.to_thread(run)


async def fork_continuations(
    cfg: SGLangBackend, messages: Sequence[BaseMessage], n: int, params: GenerationParams
) -> list[str]:
    """Return ``n`` assistant replies generated in parallel from one shared prompt."""
    _, fork = _programs()
    merged = cfg.params.merged(params)
    sampling = {"max_tokens": merged.max_tokens or 128, "temperature": merged.temperature,
                "top_p": merged.top_p, "top_k": merged.top_k,
                "stop": list(merged.stop) if merged.stop else None}
    sampling = {k: v for k, v in sampling.items() if v is not None}

    def run() -> list[str]:
        state = fork.run(turns=_turns(messages), width=n, sampling=sampling,
                         backend=_endpoint(cfg))
        return [str(text) for text in state.ret_value]

    return await asyncio.to_thread(run)
