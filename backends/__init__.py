"""Model backends: configuration, the embedded engine, and chat models per backend.

The package namespace stays light (errors and configuration) because every other
layer imports it; engine modules (``backends.chat``, ``backends.embedded``) are
imported where they are used.
"""

from backends.config import BackendConfig, GenerationParams, RouterConfig, load_config
from backends.errors import (
    AppError,
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    ContextTooLong,
    EngineStartError,
    GraphConfigError,
    InvalidRequest,
    ModelFileError,
    ReplyCutOff,
    ToolArgumentError,
    ToolError,
)

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
    "InvalidRequest",
    "ModelFileError",
    "ReplyCutOff",
    "RouterConfig",
    "ToolArgumentError",
    "ToolError",
    "load_config",
]
