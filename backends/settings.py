"""Typed settings of each backend kind, as written in ``backends.toml``.

One model per kind, so a setting that makes no sense for an engine (``engine``
on a vLLM server, ``num_ctx`` on SGLang) is an error naming its key, not
silently ignored.
"""

from __future__ import annotations

import contextlib
import ipaddress
from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "KINDS",
    "BackendConfig",
    "CapabilityOverrides",
    "EmbeddedBackend",
    "EmbeddedSettings",
    "GenerationParams",
    "OllamaBackend",
    "RemoteBackend",
    "SGLangBackend",
    "ToolSettings",
    "VLLMBackend",
]


class GenerationParams(BaseModel):
    """One vocabulary for sampling parameters, mapped to each engine's own names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: Annotated[float, Field(ge=0.0, le=2.0)] | None = None
    top_p: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    top_k: Annotated[int, Field(ge=0)] | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    stop: tuple[str, ...] | None = None
    seed: int | None = None
    repetition_penalty: Annotated[float, Field(gt=0.0)] | None = None
    frequency_penalty: Annotated[float, Field(ge=-2.0, le=2.0)] | None = None

    def merged(self, override: GenerationParams) -> GenerationParams:
        """Return these parameters with every value set in ``override`` replacing ours."""
        return self.model_copy(update=override.model_dump(exclude_none=True))


class EmbeddedSettings(BaseModel):
    """How the in-process llama.cpp engine is started."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_path: str | None = Field(
        default=None, description="GGUF file; unset means the pulled default model."
    )
    n_ctx: Annotated[int, Field(ge=512)] = 8192
    n_parallel: Annotated[int, Field(ge=1, le=64)] = 4
    threads: Annotated[int, Field(ge=1)] | None = None
    port: Annotated[int, Field(ge=0, le=65535)] = 0
    # llama.cpp keeps prompt states in host memory so a slot can resume another's
    # prefix; its own default is 8192 MiB, too much for the small machines this runs on.
    cache_ram_mib: Annotated[int, Field(ge=0)] = 1024
    verbose: bool = False


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class CapabilityOverrides(BaseModel):
    """Capabilities a config states for a backend, over its engine kind's defaults."""

    # Frozen and hashable: backend settings are cache keys for models and breakers.
    model_config = ConfigDict(extra="forbid", frozen=True)

    native_tools: bool | None = None
    json_schema: bool | None = None
    regex: bool | None = None
    ebnf: bool | None = None
    choices: bool | None = None
    parallel_sampling: bool | None = None
    logprobs: bool | None = None
    cached_tokens: bool | None = None
    max_samples_per_request: Annotated[int, Field(ge=1)] | None = None


class _Backend(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    timeout_s: Annotated[float, Field(gt=0)] = 120.0
    connect_timeout_s: Annotated[float, Field(gt=0)] = 3.0
    local: bool = Field(
        default=True, description="Data sent here stays on machines the user controls."
    )
    context_length: Annotated[int, Field(ge=256)] | None = None
    params: GenerationParams = GenerationParams()
    max_retries: Annotated[int, Field(ge=0, le=5)] = 1
    retry_backoff_s: Annotated[float, Field(ge=0.0, le=30.0)] = 0.25
    breaker_threshold: Annotated[int, Field(ge=1)] = 3
    breaker_cooldown_s: Annotated[float, Field(gt=0)] = 30.0
    capabilities: CapabilityOverrides = Field(
        default_factory=lambda: CapabilityOverrides(),
        description="Overrides of what the engine kind can do, e.g. native_tools = false "
                    "for a vLLM started without --tool-call-parser.")


class EmbeddedBackend(_Backend):
    """llama.cpp in this process; always local."""

    kind: Literal["embedded"]
    engine: EmbeddedSettings = EmbeddedSettings()


class RemoteBackend(_Backend):
    """Settings every LLM server shares: where it is, what it serves, how to log in."""

    base_url: str
    model: Annotated[str, Field(min_length=1)]
    api_key_env: str | None = Field(
        default=None, description="Name of the environment variable holding the API key."
    )

    @model_validator(mode="before")
    @classmethod
    def _local_only_on_loopback(cls, data: Any) -> Any:
        # A server elsewhere on the network is not "local" unless the user says so:
        # privacy routing must never send sensitive requests there by default.
        if isinstance(data, dict) and "local" not in data and isinstance(
                data.get("base_url"), str):
            with contextlib.suppress(httpx.InvalidURL, ValueError):
                return {**data, "local": _is_loopback(httpx.URL(data["base_url"]).host)}
        return data

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"{value!r} is not a URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"{value!r} must look like http://host:port")
        return value.rstrip("/")



class VLLMBackend(RemoteBackend):
    """vLLM's OpenAI-compatible server."""

    kind: Literal["vllm"]
    structured_outputs: Literal["structured_outputs", "guided"] = Field(
        default="structured_outputs",
        description="Request field family for constrained decoding: 'guided' for vLLM < 0.12.",
    )


class SGLangBackend(RemoteBackend):
    """SGLang's server: OpenAI-compatible chat, plus the native /generate API."""

    kind: Literal["sglang"]
    api: Literal["openai", "native"] = Field(
        default="openai", description="Which API chat calls use."
    )
    chat_template: str | None = Field(
        default=None,
        description="sglang frontend template name (e.g. 'chatml') for the native API; "
                    "unset: guessed from the model name, which misses some models.",
    )


class OllamaBackend(RemoteBackend):
    """Ollama's native API."""

    kind: Literal["ollama"]
    num_ctx: Annotated[int, Field(ge=256)] = 4096
    keep_alive: str | int = "5m"

    @field_validator("params")
    @classmethod
    def _params_ollama_can_send(cls, params: GenerationParams) -> GenerationParams:
        if params.frequency_penalty is not None:
            raise ValueError("Ollama backends cannot honour frequency_penalty (ChatOllama "
                             "has no such option); use repetition_penalty instead")
        return params


class ToolSettings(BaseModel):
    """The ``[tools]`` table: folders and hosts the tools may touch.

    Relative folders are resolved against the config file's folder.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    files_root: str | None = Field(
        default=None, description="Folder read_file/list_files may read; unset: no file tools."
    )
    knowledge_dir: str | None = Field(
        default=None, description="Folder of .md/.txt files knowledge_search searches."
    )
    fetch_allow_hosts: tuple[str, ...] = Field(
        default=(), description="Private or loopback hosts fetch_url may reach anyway."
    )


BackendConfig = EmbeddedBackend | VLLMBackend | SGLangBackend | OllamaBackend
KINDS: dict[str, type[BaseModel]] = {
    "embedded": EmbeddedBackend, "vllm": VLLMBackend, "sglang": SGLangBackend,
    "ollama": OllamaBackend,
}
