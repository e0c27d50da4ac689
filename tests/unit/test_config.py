from pathlib import Path

import pytest

from backends.config import load_config
from backends.errors import GraphConfigError
from backends.settings import GenerationParams
from backends.validation import parse_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "backends.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_repo_file_declares_the_embedded_backend():
    config = load_config(Path(__file__).parents[2] / "backends.toml")
    embedded = config.backend("embedded", key="test")
    assert embedded.kind == "embedded"
    assert embedded.engine.n_parallel >= 4
    assert embedded.local is True


def test_built_in_default_when_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AGENT_ROUTER_CONFIG", raising=False)
    config = load_config()
    assert list(config.backends) == ["embedded"]
    assert config.source == "built-in defaults"


def test_unknown_kind_names_file_and_key(tmp_path):
    path = write(tmp_path, '[backends.gpu]\nkind = "tensorrt"\n')
    with pytest.raises(GraphConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    assert "backends.gpu.kind" in message


def test_unknown_setting_is_refused(tmp_path):
    path = write(tmp_path, '[backends.embedded]\nkind = "embedded"\ntimout_s = 3\n')
    with pytest.raises(GraphConfigError, match="backends.embedded.timout_s"):
        load_config(path)


def test_malformed_toml_names_the_file(tmp_path):
    path = write(tmp_path, "[backends.embedded\n")
    with pytest.raises(GraphConfigError, match="not valid TOML"):
        load_config(path)


def test_file_without_backends_is_refused(tmp_path):
    with pytest.raises(GraphConfigError, match=r"\[backends.<name>\]"):
        load_config(write(tmp_path, "title = 'x'\n"))


def test_missing_config_file_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENT_ROUTER_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(GraphConfigError) as caught:
        load_config()
    assert caught.value.key == "AGENT_ROUTER_CONFIG"


def test_env_overrides_model_and_threads(tmp_path, monkeypatch):
    path = write(tmp_path, '[backends.e]\nkind = "embedded"\n[backends.e.engine]\nthreads = 1\n')
    assert load_config(path).backend("e", key="k").engine.threads == 1
    monkeypatch.setenv("AGENT_ROUTER_MODEL", "/models/big.gguf")
    monkeypatch.setenv("AGENT_ROUTER_THREADS", "3")
    engine = load_config(path).backend("e", key="k").engine
    assert engine.model_path == "/models/big.gguf"
    assert engine.threads == 3


def test_unknown_backend_lists_known_ones_and_names_key():
    config = parse_config({"backends": {"a": {"kind": "embedded"}}}, source="x.toml")
    with pytest.raises(GraphConfigError) as caught:
        config.backend("b", key="planner_backend")
    assert caught.value.key == "planner_backend"
    assert "choose one of: a" in str(caught.value)


def test_generation_params_validate_and_merge():
    base = GenerationParams(temperature=0.7, max_tokens=100)
    merged = base.merged(GenerationParams(max_tokens=10))
    assert (merged.temperature, merged.max_tokens) == (0.7, 10)
    with pytest.raises(ValueError):
        GenerationParams(temperature=5)
    with pytest.raises(ValueError):
        GenerationParams(top_p=0)


def test_tools_table_resolves_folders_next_to_the_file(tmp_path):
    path = write(tmp_path, '[backends.e]\nkind = "embedded"\n[tools]\nfiles_root = "docs"\n'
                           'fetch_allow_hosts = ["intranet.local"]\n')
    tools = load_config(path).tools
    assert tools.files_root == str(tmp_path / "docs")
    assert tools.fetch_allow_hosts == ("intranet.local",)
    with pytest.raises(GraphConfigError, match="tools.files_rot"):
        load_config(write(tmp_path, '[backends.e]\nkind = "embedded"\n[tools]\nfiles_rot = "x"\n'))


def test_remote_backends_need_a_url_and_model(tmp_path):
    path = write(tmp_path, '[backends.v]\nkind = "vllm"\nbase_url = "ftp://x"\n')
    with pytest.raises(GraphConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "backends.v.base_url" in message and "http://host:port" in message
    assert "backends.v.model" in message


def test_settings_of_another_kind_are_refused(tmp_path):
    path = write(tmp_path, '[backends.s]\nkind = "sglang"\nbase_url = "http://127.0.0.1:1"\n'
                           'model = "m"\nnum_ctx = 4096\n')
    with pytest.raises(GraphConfigError, match="backends.s.num_ctx"):
        load_config(path)


def test_chains_must_name_declared_backends(tmp_path):
    path = write(tmp_path, '[backends.e]\nkind = "embedded"\n[chains]\nplanner = ["gpu", "e"]\n'
                           'e = ["e"]\nempty = []\n')
    with pytest.raises(GraphConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "chains.planner[0]: 'gpu' is not a declared backend" in message
    assert "chains.e: a chain cannot share the name of a backend" in message
    assert "chains.empty: must be a non-empty list" in message


def test_chain_lookup_and_env_overrides(tmp_path, monkeypatch):
    path = write(tmp_path, '[backends.e]\nkind = "embedded"\n[backends.my-vllm]\nkind = "vllm"\n'
                           'base_url = "http://127.0.0.1:8000"\nmodel = "m"\n'
                           '[chains]\nplanner = ["my-vllm", "e"]\n')
    monkeypatch.setenv("AGENT_ROUTER_MY_VLLM_BASE_URL", "http://127.0.0.1:9000/")
    config = load_config(path)
    assert [b.name for b in config.chain("planner", key="k")] == ["my-vllm", "e"]
    assert [b.name for b in config.chain("e", key="k")] == ["e"]
    assert config.backends["my-vllm"].base_url == "http://127.0.0.1:9000"
    assert config.names() == ["planner", "e", "my-vllm"]


def test_remote_backends_are_local_only_on_loopback_unless_declared(tmp_path):
    path = write(tmp_path, '[backends.here]\nkind = "ollama"\nbase_url = "http://127.0.0.1:1"\n'
                           'model = "m"\n[backends.there]\nkind = "vllm"\n'
                           'base_url = "http://gpu-box.lan:8000"\nmodel = "m"\n'
                           '[backends.lab]\nkind = "sglang"\nbase_url = "http://10.0.0.9:30000"\n'
                           'model = "m"\nlocal = true\n')
    backends = load_config(path).backends
    assert backends["here"].local is True
    assert backends["there"].local is False
    assert backends["lab"].local is True, "the user may declare their own network local"


def test_a_parameter_the_engine_cannot_honour_fails_at_load_time(tmp_path):
    path = write(tmp_path, '[backends.o]\nkind = "ollama"\nbase_url = "http://127.0.0.1:1"\n'
                           'model = "m"\n[backends.o.params]\nfrequency_penalty = 0.5\n')
    with pytest.raises(GraphConfigError) as caught:
        load_config(path)
    assert "backends.o.params" in str(caught.value)
    assert "use repetition_penalty" in str(caught.value)


def test_capability_overrides_are_validated_and_applied(tmp_path):
    from backends.chat import capabilities

    path = write(tmp_path, '[backends.v]\nkind = "vllm"\nbase_url = "http://127.0.0.1:1"\n'
                           'model = "m"\n[backends.v.capabilities]\nnative_tools = false\n')
    caps = capabilities(load_config(path).backends["v"])
    assert caps.native_tools is False and caps.json_schema is True
    bad = write(tmp_path, '[backends.v]\nkind = "vllm"\nbase_url = "http://127.0.0.1:1"\n'
                          'model = "m"\n[backends.v.capabilities]\nteleport = true\n')
    with pytest.raises(GraphConfigError, match="backends.v.capabilities.teleport"):
        load_config(bad)


VLLM_AT = '[backends.gpu]\nkind = "vllm"\nbase_url = "{url}"\nmodel = "m"\n'


async def test_current_config_rereads_an_edited_file_after_a_second(tmp_path, monkeypatch):
    from backends import reload as config_module

    now = [1000.0]
    monkeypatch.setattr(config_module.time, "monotonic", lambda: now[0])
    path = write(tmp_path, VLLM_AT.format(url="http://127.0.0.1:8001"))
    monkeypatch.setenv("AGENT_ROUTER_CONFIG", str(path))
    first = await config_module.current_config()
    assert first.backends["gpu"].base_url == "http://127.0.0.1:8001"

    write(tmp_path, VLLM_AT.format(url="http://127.0.0.1:8002"))
    now[0] += 0.5
    assert (await config_module.current_config()) is first, "no file access within a second"
    now[0] += config_module.RECHECK_AFTER_S
    assert (await config_module.current_config()).backends["gpu"].base_url == (
        "http://127.0.0.1:8002")


async def test_current_config_follows_the_environment_at_once(tmp_path, monkeypatch):
    from backends.reload import current_config

    first = write(tmp_path, VLLM_AT.format(url="http://127.0.0.1:8001"))
    other = tmp_path / "other.toml"
    other.write_text(VLLM_AT.format(url="http://127.0.0.1:8003"))
    monkeypatch.setenv("AGENT_ROUTER_CONFIG", str(first))
    assert (await current_config()).backends["gpu"].base_url == "http://127.0.0.1:8001"
    monkeypatch.setenv("AGENT_ROUTER_GPU_BASE_URL", "http://127.0.0.1:9000")
    assert (await current_config()).backends["gpu"].base_url == "http://127.0.0.1:9000"
    monkeypatch.delenv("AGENT_ROUTER_GPU_BASE_URL")
    monkeypatch.setenv("AGENT_ROUTER_CONFIG", str(other))
    assert (await current_config()).backends["gpu"].base_url == "http://127.0.0.1:8003"


TOOLS_AT = '[tools]\nfetch_allow_hosts = ["{host}"]\n[chains]\nplanner = ["{first}", "gpu"]\n'


@pytest.fixture
def started_on(tmp_path, monkeypatch):
    """Make a fresh backends.toml the one this process read at start."""
    from backends import reload

    def start(text: str) -> Path:
        path = write(tmp_path, text)
        monkeypatch.setenv("AGENT_ROUTER_CONFIG", str(path))
        monkeypatch.setenv("AGENT_ROUTER_CACHE", str(tmp_path / "cache"))
        reload.startup_config.cache_clear()
        reload.startup_config()
        return path

    yield start
    reload.startup_config.cache_clear()


async def test_an_edit_of_a_part_read_at_start_is_named_once_the_rest_applies(
        started_on, tmp_path, monkeypatch, caplog):
    from backends import reload

    now = [5000.0]
    monkeypatch.setattr(reload.time, "monotonic", lambda: now[0])
    started_on(VLLM_AT.format(url="http://127.0.0.1:8001")
               + TOOLS_AT.format(host="a.example", first="gpu"))
    await reload.current_config()
    assert not caplog.records, "nothing changed yet"

    write(tmp_path, VLLM_AT.format(url="http://127.0.0.1:8001")
          + TOOLS_AT.format(host="a.example", first="gpu").replace('"gpu", "gpu"', '"gpu"'))
    now[0] += reload.RECHECK_AFTER_S
    chain = (await reload.current_config()).chain("planner", key="planner_backend")
    assert [cfg.name for cfg in chain] == ["gpu"], "a chain's members apply at once"
    assert not caplog.records, "a chain's members need no restart"

    write(tmp_path, VLLM_AT.format(url="http://127.0.0.1:8001")
          + TOOLS_AT.format(host="b.example", first="gpu"))
    for _ in range(2):
        now[0] += reload.RECHECK_AFTER_S
        await reload.current_config()
    [warning] = caplog.records
    assert "[tools]" in warning.getMessage() and "restart" in warning.getMessage()
    assert "names" not in warning.getMessage()


def test_a_running_server_started_before_an_edit_is_named(started_on, tmp_path):
    import os

    from backends import reload

    path = started_on(VLLM_AT.format(url="http://127.0.0.1:8001"))
    reload.record_server(os.getpid(), load_config(path))
    assert reload.stale_servers(load_config(path)) == []
    path.write_text(VLLM_AT.format(url="http://127.0.0.1:8001")
                    + '[backends.extra]\nkind = "embedded"\n')
    [stale] = reload.stale_servers(load_config(path))
    assert stale.pid == os.getpid() and stale.changed == ("backend and chain names",)


def test_the_record_of_a_server_that_ended_is_dropped(started_on, tmp_path):
    from backends import reload

    path = started_on(VLLM_AT.format(url="http://127.0.0.1:8001"))
    record = reload.record_server(2**22 + 12345, load_config(path))  # above pid_max
    path.write_text(VLLM_AT.format(url="http://127.0.0.1:8001") + '[tools]\nfiles_root = "."\n')
    assert reload.stale_servers(load_config(path)) == [] and not record.exists()


def test_engine_settings_reach_llama_cpp(tmp_path):
    from backends.embedded import EmbeddedEngine

    path = write(tmp_path, '[backends.embedded]\nkind = "embedded"\n'
                           '[backends.embedded.engine]\nn_parallel = 2\ncache_ram_mib = 256\n')
    settings = load_config(path).backends["embedded"].engine
    params = EmbeddedEngine(settings)._params("model.gguf")
    assert (params.n_parallel, params.cache_ram_mib) == (2, 256)
    assert params.hostnames == ["127.0.0.1"], "the engine listens on loopback only"
    default = EmbeddedEngine(parse_config({"backends": {"embedded": {"kind": "embedded"}}},
                                          source="test").backends["embedded"].engine)
    assert default._params("model.gguf").cache_ram_mib == 1024, "not llama.cpp's 8 GiB"
