"""The project's one exception tree.

Every error the project raises on purpose is an ``AppError``; callers that need
to react to a kind of failure catch the narrowest class, never by message text::

    AppError
      BackendError                  a model server or the embedded engine failed
        BackendUnavailable          cannot connect, 5xx, 429: try the next backend
        BackendTimeout              no answer in time: try the next backend
        ContextTooLong              prompt exceeds the context window
        InvalidRequest              the server refused the request as malformed
          ReplyCutOff               the reply hit its token limit before it was complete
      EngineStartError              the embedded engine could not start
      ModelFileError                the GGUF model file is missing, corrupt or unfetchable
      ToolError                     a tool could not do what was asked
        ToolArgumentError           arguments the model can correct
      GraphConfigError              configuration or run context is invalid
      InputError                    a graph's input is missing, of the wrong type or too long

``AppError`` derives from ``RuntimeError`` (see its docstring). It lives in
``backends`` because that is the lowest layer: tools, agents and graphs all
import from it, never the other way round.
"""

from __future__ import annotations

__all__ = [
    "AppError",
    "BackendError",
    "BackendTimeout",
    "BackendUnavailable",
    "ContextTooLong",
    "EngineStartError",
    "GraphConfigError",
    "InputError",
    "InvalidRequest",
    "ModelFileError",
    "ReplyCutOff",
    "ToolArgumentError",
    "ToolError",
]


class AppError(RuntimeError):
    """Root of every error this project raises on purpose.

    A RuntimeError because the LangGraph server passes the message of builtin
    error types on to clients and hides all others ("An internal error
    occurred"); ours are written for the person running the graph.
    """


class BackendError(AppError):
    """A call to a model backend failed."""

    def __init__(
        self,
        message: str,
        *,
        backend: str,
        model: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.backend = backend
        self.model = model
        self.request_id = request_id

    def __str__(self) -> str:
        where = f"backend {self.backend!r}" + (f", model {self.model!r}" if self.model else "")
        return f"{self.args[0]} ({where})"


class BackendUnavailable(BackendError):
    """The backend cannot be reached or is overloaded; another one may answer."""


class BackendTimeout(BackendError):
    """The backend did not answer within its timeout."""


class ContextTooLong(BackendError):
    """The prompt does not fit the backend's context window."""


class InvalidRequest(BackendError):
    """The backend rejected the request itself; retrying elsewhere will not help."""


class ReplyCutOff(InvalidRequest):
    """The model's reply reached its token limit before it was complete (say, open JSON).

    Another backend would be cut off the same way, so the chain does not move on;
    the node that asked may retry with another seed or plan again.
    """


class EngineStartError(AppError):
    """A local engine could not be set up or started: embedded llama.cpp, or `serve vllm`."""


class ModelFileError(AppError):
    """The GGUF model file is missing, corrupt, or could not be fetched."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class ToolError(AppError):
    """A tool failed; the message is shown to the model as the tool's result."""

    def __init__(self, message: str, *, tool: str | None = None) -> None:
        super().__init__(message)
        self.tool = tool


class ToolArgumentError(ToolError):
    """The tool's arguments are wrong in a way the model can fix."""


class GraphConfigError(AppError):
    """Configuration or run context is invalid; names the offending key."""

    def __init__(self, message: str, *, key: str | None = None, source: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.source = source


class InputError(AppError):
    """A graph's input is missing, of the wrong type, or too long; ``field`` names it."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field
