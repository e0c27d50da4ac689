"""Read a GGUF file's key/value metadata, the way ``ollama show`` reports it as ``model_info``.

Ollama answers ``POST /api/show`` with the GGUF key/values minus ``general.name`` and
``tokenizer.chat_template``; arrays longer than 5 items are sent as ``[]`` unless the request
says ``verbose``. Only the header is read: tensors are skipped.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["read_metadata"]

_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
           10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_HIDDEN = ("general.name", "tokenizer.chat_template")


def _unpack(f: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    return struct.unpack(fmt, f.read(size))[0]


def _string(f: BinaryIO) -> str:
    return f.read(_unpack(f, "<Q")).decode("utf-8", errors="replace")


def _skip(f: BinaryIO, vtype: int, count: int) -> None:
    if vtype == _STRING:
        for _ in range(count):
            f.seek(_unpack(f, "<Q"), 1)
    elif vtype == _ARRAY:
        for _ in range(count):
            inner, n = _unpack(f, "<I"), _unpack(f, "<Q")
            _skip(f, inner, n)
    else:
        f.seek(struct.calcsize(_SCALAR[vtype]) * count, 1)


def _value(f: BinaryIO, vtype: int, max_array: int) -> Any:
    if vtype == _STRING:
        return _string(f)
    if vtype == _ARRAY:
        inner, count = _unpack(f, "<I"), _unpack(f, "<Q")
        if max_array >= 0 and count > max_array:
            _skip(f, inner, count)
            return []
        return [_value(f, inner, max_array) for _ in range(count)]
    return _unpack(f, _SCALAR[vtype])


def read_metadata(path: str | Path, *, verbose: bool = False) -> dict[str, Any]:
    """Return the GGUF key/values of ``path`` as Ollama's ``model_info`` shows them.

    Raises:
        ValueError: ``path`` is not a GGUF file.
    """
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        _version, _n_tensors, n_kv = struct.unpack("<IQQ", f.read(20))
        info: dict[str, Any] = {}
        for _ in range(n_kv):
            key = _string(f)
            info[key] = _value(f, _unpack(f, "<I"), -1 if verbose else 5)
    for key in _HIDDEN:
        info.pop(key, None)
    return info
