"""Model backends: configuration, the embedded engine, and chat models per backend.

The package namespace stays light (errors and configuration) because every other
layer imports it; engine modules (``backends.chat``, ``backends.embedded``) are
imported where they are used.
"""

from backends.config import load_config
from backends.errors import (
    AppError,
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    ContextTooLong,
    EngineStartError,
    GraphConfigError,
    InputError,
    InvalidRequest,
    ModelFileError,
    ReplyCutOff,
    ToolArgumentError,
    ToolError,
)
from backends.settings import BackendConfig, GenerationParams
from backends.validation import RouterConfig

__all__ = [
    "AppError",
    "BackendConfig",
    "BackendError",
    "BackendTimeout",
    "BackendUnavailable",
    "ContextTooLong",
    "EngineStartError",
    "GenerationParams",
    "GraphConfigError",
    "InputError",
    "InvalidRequest",
    "ModelFileError",
    "ReplyCutOff",
    "RouterConfig",
    "ToolArgumentError",
    "ToolError",
    "load_config",
]
