"""API-key authentication and per-user ownership for the LangGraph server.

Served when the server's config names it (``langgraph.auth.json`` does:
``"auth": {"path": "./serving/api/auth.py:auth"}``). Keys come from
``AGENT_ROUTER_API_KEYS`` as ``user1:key1,user2:key2`` (read by
``backends.config.server_api_keys``). A request presents its key in the
``x-api-key`` header or as ``Authorization: Bearer <key>``. Both servers load this
module: `langgraph dev` passes the headers as bytes, Aegra as strings; either works.

When the variable is unset or empty, authentication is OFF: every request is
let in as the user ``anonymous`` and nothing is tagged or filtered, exactly as
without this module.

With keys set:
    * no key, or an unknown key: 401;
    * threads, runs and crons a user creates are tagged ``metadata.owner``, and
      every read, search, update and delete only sees that user's own;
    * assistants a user creates are tagged and only their owner may change or
      delete them; every user may read and search assistants, so the graphs'
      built-in assistants stay usable;
    * the store is split by user: a namespace must start with the user's name.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from langgraph_sdk import Auth

from backends.config import server_api_keys

__all__ = ["ANONYMOUS", "auth", "authenticate", "user_for_key"]

ANONYMOUS = "anonymous"

auth = Auth()


def user_for_key(key: str | None, keys: dict[str, str]) -> str | None:
    """Return the user whose key is ``key``, comparing in constant time, or None."""
    if not key:
        return None
    match = None
    for known, user in keys.items():
        if hmac.compare_digest(known.encode(), key.encode()):
            match = user
    return match


def _header(headers: Mapping[bytes, bytes] | Mapping[str, str], name: str) -> str:
    # langgraph-api hands the handler bytes; Aegra hands it decoded strings.
    for key, value in headers.items():
        text_key = key.decode("latin-1") if isinstance(key, bytes) else key
        if text_key.lower() == name:
            return value.decode("latin-1") if isinstance(value, bytes) else value
    return ""


def _presented_key(headers: Mapping[bytes, bytes] | Mapping[str, str]) -> str | None:
    api_key = _header(headers, "x-api-key").strip()
    if api_key:
        return api_key
    scheme, _, token = _header(headers, "authorization").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@auth.authenticate
async def authenticate(
    headers: Mapping[bytes, bytes] | Mapping[str, str],
) -> Auth.types.MinimalUserDict:
    """Return the user whose API key the request presents; raise 401 without a valid one."""
    keys = server_api_keys()
    if not keys:
        return {"identity": ANONYMOUS, "is_authenticated": False}
    presented = _presented_key(headers)
    user = user_for_key(presented, keys)
    if user is None:
        detail = "invalid API key" if presented else (
            "missing API key: send the x-api-key header or Authorization: Bearer <key>")
        raise Auth.exceptions.HTTPException(
            status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})
    return {"identity": user, "is_authenticated": True}


def _owner_filter(ctx: Auth.types.AuthContext) -> dict[str, str] | None:
    return {"owner": ctx.user.identity} if server_api_keys() else None


def _tag_owner(ctx: Auth.types.AuthContext, value: object) -> None:
    # The server hands us the request's own payload and keeps its metadata dict:
    # tagging that dict in place is the documented API.
    if server_api_keys() and isinstance(value, dict):
        if value.get("metadata") is None:
            value["metadata"] = {}
        value["metadata"]["owner"] = ctx.user.identity


@auth.on
async def own_everything_else(
    ctx: Auth.types.AuthContext, value: dict[str, object]
) -> dict[str, str] | None:
    """Tag what a user creates with them as owner; let them see only what they own."""
    _tag_owner(ctx, value)
    return _owner_filter(ctx)


@auth.on.assistants.create
async def own_new_assistant(
    ctx: Auth.types.AuthContext, value: Auth.types.AssistantsCreate
) -> None:
    """Tag a new assistant with its owner; anyone may read it."""
    _tag_owner(ctx, value)


@auth.on.assistants.read
async def read_any_assistant(
    ctx: Auth.types.AuthContext, value: Auth.types.AssistantsRead
) -> None:
    """Let every user read any assistant, the graphs' built-in ones included."""


@auth.on.assistants.search
async def search_any_assistant(
    ctx: Auth.types.AuthContext, value: Auth.types.AssistantsSearch
) -> None:
    """Let every user search every assistant, the graphs' built-in ones included."""


@auth.on.store
async def own_store_namespace(
    ctx: Auth.types.AuthContext, value: dict[str, Any]
) -> None:
    """Refuse store access outside the namespace that starts with the user's name."""
    if not server_api_keys():
        return
    # LangGraph names the namespace (or prefix) `namespace`; Aegra hands searches their
    # `namespace_prefix` and namespace listings their `prefix`.
    namespace = tuple(value.get("namespace") or value.get("namespace_prefix")
                      or value.get("prefix") or ())
    if not namespace or namespace[0] != ctx.user.identity:
        raise Auth.exceptions.HTTPException(
            status_code=403, detail=f"store namespaces must start with {ctx.user.identity!r}")
