"""Ollama's JSON shapes: names, timestamps, durations, chat/generate chunks, model details.

Field names and omissions follow Ollama's ``api/types.go``: ``Metrics`` fields are
``omitempty`` (a zero duration or count is left out), ``done_reason`` too, while
``message.content``, ``response`` and ``done`` are always present.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import time
from datetime import UTC, datetime
from typing import Any

from tests.wire._gguf import read_metadata

__all__ = ["display_name", "done", "done_only", "file_info", "full_name", "keep_alive_seconds",
           "line", "logprobs", "partial", "same_model", "show", "timestamp"]

_HOST, _NAMESPACE, _TAG = "registry.ollama.ai", "library", "latest"
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_FOREVER = datetime(2318, 1, 1, tzinfo=UTC).timestamp()  # Go's max duration from now, roughly


def _parts(name: str) -> tuple[str, str, str, str]:
    *rest, last = name.split("/")
    model, _, tag = last.partition(":")
    namespace = rest[-1] if rest else _NAMESPACE
    host = rest[-2] if len(rest) >= 2 else _HOST
    return host, namespace, model, tag or _TAG


def display_name(name: str) -> str:
    """Return the shortest form Ollama lists a model under (``smollm2:135m``)."""
    host, namespace, model, tag = _parts(name)
    prefix = "" if (host, namespace) == (_HOST, _NAMESPACE) else f"{host}/{namespace}/"
    return f"{prefix}{model}:{tag}"


def full_name(name: str) -> str:
    """Return the fully qualified name used in Ollama's capability errors."""
    return "{}/{}/{}:{}".format(*_parts(name))


def same_model(a: str, b: str) -> bool:
    """Tell whether two names denote one model (parts compared case-insensitively)."""
    return bool(a) and [p.casefold() for p in _parts(a)] == [p.casefold() for p in _parts(b)]


def timestamp(seconds: float | None = None) -> str:
    """Format a time like Go's ``time.Time`` JSON (RFC 3339, fraction without trailing 0s)."""
    moment = datetime.fromtimestamp(time.time() if seconds is None else seconds, UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def keep_alive_seconds(value: Any) -> float:
    """Parse ``keep_alive`` like Ollama: seconds or a Go duration; negative means forever.

    Raises:
        ValueError: The value is no duration (Ollama answers 400 with this text).
    """
    if value is None:
        return 300.0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return math.inf if value < 0 else float(value)
    text = str(value).strip()
    body = text.lstrip("+-")
    parts = _GO_DURATION.findall(body)
    if body == "0":
        return 0.0
    if isinstance(value, bool) or not parts or "".join(a + b for a, b in parts) != body:
        raise ValueError(f"time: invalid duration {_quote(text)}")
    seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    return math.inf if text.startswith("-") else seconds


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def line(obj: dict[str, Any]) -> str:
    """Return one NDJSON line as Go's ``encoding/json`` writes it (compact, HTML-safe)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"


def _head(kind: str, model: str, text: str) -> dict[str, Any]:
    head: dict[str, Any] = {"model": model, "created_at": timestamp()}
    if kind == "chat":
        head["message"] = {"role": "assistant", "content": text}
    else:
        head["response"] = text
    return head


def partial(kind: str, model: str, text: str) -> dict[str, Any]:
    """Return one streamed chunk (``done: false``) of a chat or generate answer."""
    return _head(kind, model, text) | {"done": False}


def done_only(kind: str, model: str, reason: str) -> dict[str, Any]:
    """Return the answer to a load or unload request (empty messages / prompt)."""
    return _head(kind, model, "") | {"done": True, "done_reason": reason}


def done(kind: str, model: str, text: str, final: dict[str, Any], prompt_tokens: int,
         clock: tuple[int, int]) -> dict[str, Any]:
    """Return the final ``done: true`` object from llama.cpp's last completion event."""
    started, loaded = clock
    timings = final.get("timings") or {}
    reason = "length" if final.get("stop_type") == "limit" else "stop"
    metrics = {
        "total_duration": time.monotonic_ns() - started,
        "load_duration": loaded - started,
        "prompt_eval_count": prompt_tokens,
        "prompt_eval_duration": int(float(timings.get("prompt_ms") or 0) * 1e6),
        "eval_count": int(final.get("tokens_predicted") or timings.get("predicted_n") or 0),
        "eval_duration": int(float(timings.get("predicted_ms") or 0) * 1e6),
    }
    return (_head(kind, model, text) | {"done_reason": reason, "done": True}
            | {k: v for k, v in metrics.items() if v})


def logprobs(event: dict[str, Any], top: int) -> dict[str, Any]:
    """Return ``{"logprobs": [...]}`` from llama.cpp's ``completion_probabilities``.

    ``top`` < 0 means the request did not ask for logprobs (nothing is added); 0 means the
    chosen tokens only, without ``top_logprobs``.
    """
    if top < 0:
        return {}

    def entry(p: dict[str, Any]) -> dict[str, Any]:
        return {"token": p.get("token", ""), "logprob": p.get("logprob", 0.0)} | (
            {"bytes": p["bytes"]} if p.get("bytes") else {})

    out = [entry(p) | ({"top_logprobs": [entry(t) for t in p.get("top_logprobs", [])[:top]]}
                       if top else {})
           for p in event.get("completion_probabilities") or []]
    return {"logprobs": out} if out else {}


def _human_number(n: int) -> str:
    # format.HumanNumber in Ollama: 134515008 -> "134.52M"
    for size, unit, digits in ((1e9, "B", 1), (1e6, "M", 2), (1e3, "K", 0)):
        if n >= size:
            value = n / size
            return f"{value:.0f}{unit}" if value == int(value) else f"{value:.{digits}f}{unit}"
    return str(n)


async def file_info(path: str, props: dict[str, Any], meta: dict[str, Any], *, verbose: bool,
                    digest: str, exists: bool) -> dict[str, Any]:
    """Collect what ``/api/tags``, ``/api/show`` and ``/api/ps`` say about the model file."""
    if exists:
        info = await asyncio.to_thread(read_metadata, path, verbose=verbose)
    else:
        info = {"general.architecture": "llama", "llama.context_length": meta.get("n_ctx_train")}
    info["general.parameter_count"] = int(meta.get("n_params") or 0)
    arch = str(info.get("general.architecture", "llama"))
    details = {"parent_model": "", "format": "gguf", "family": arch, "families": [arch],
               "parameter_size": _human_number(int(meta.get("n_params") or 0)),
               "quantization_level": str(props.get("model_ftype") or meta.get("ftype") or "")}
    mtime = os.path.getmtime(path) if exists else time.time()
    size = os.path.getsize(path) if exists else int(meta.get("size") or 0)
    return {"model_info": info, "details": details, "modified_at": timestamp(mtime),
            "size": size, "digest": digest, "path": path}


def show(model: str, info: dict[str, Any], capabilities: list[str],
         props: dict[str, Any]) -> dict[str, Any]:
    """Return the ``/api/show`` answer."""
    stops = [str(t) for t in (props.get("bos_token"), props.get("eos_token")) if t]
    params = "\n".join(f'{"stop":<30} "{token}"' for token in stops)
    template = str(props.get("chat_template") or "")
    modelfile = ('# Modelfile generated by "ollama show"\n'
                 "# To build a new Modelfile based on this, replace FROM with:\n"
                 f"# FROM {model}\n\nFROM {info['path']}\n"
                 f'TEMPLATE """{template}"""\n'
                 + "".join(f'PARAMETER stop "{token}"\n' for token in stops))
    return {"modelfile": modelfile, "parameters": params, "template": template,
            "details": info["details"], "model_info": info["model_info"],
            "capabilities": capabilities, "modified_at": info["modified_at"]}
