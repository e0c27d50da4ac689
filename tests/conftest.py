"""Fixtures shared by every test: a clean environment, the model, the engine's config."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.config import BackendConfig, load_config
from backends.errors import ModelFileError
from backends.model_file import resolve_model_path


@pytest.fixture(autouse=True)
def restore_environ() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def model_path() -> Path:
    try:
        return resolve_model_path()
    except ModelFileError as exc:
        pytest.fail(f"{exc}. `make test` pulls it first.", pytrace=False)


@pytest.fixture(scope="session")
def embedded_cfg(model_path: Path) -> BackendConfig:
    return load_config().backend("embedded", key="tests")
