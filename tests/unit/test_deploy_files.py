"""The deployment files users copy (deploy/): parsed and checked, not run (no Docker here).

The Compose file must describe the topology of docs/deploy.md: instances of one image
behind a load balancer, one PostgreSQL with a backup, one Redis, and a migration that
runs before any instance; every instance gets the variables Aegra and the graphs read.
The systemd units must run the same commands from Aegra's virtualenv.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from backends.config import load_config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
INSTANCE_ENV = {"DATABASE_URL", "REDIS_URL", "REDIS_BROKER_ENABLED", "AEGRA_CONFIG",
                "AGENT_ROUTER_CONFIG", "AGENT_ROUTER_API_KEYS", "RUN_MIGRATIONS_ON_STARTUP"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def depends(service: dict[str, Any]) -> dict[str, str]:
    return {name: spec["condition"] for name, spec in service.get("depends_on", {}).items()}


def test_compose_has_the_documented_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "backup", "redis", "migrate", "aegra", "lb"}
    assert set(compose["volumes"]) == {"pgdata", "redisdata", "backups"}


def test_instances_share_one_database_and_one_queue(compose: dict[str, Any]) -> None:
    services = compose["services"]
    aegra, migrate = services["aegra"], services["migrate"]
    env = aegra["environment"]

    assert INSTANCE_ENV <= set(env), INSTANCE_ENV - set(env)
    assert migrate["environment"] == env, "the migration sees the same database"
    assert re.fullmatch(r"postgresql://agent_router:\$\{POSTGRES_PASSWORD:\?[^}]+\}"
                        r"@postgres:5432/agent_router", env["DATABASE_URL"])
    assert env["REDIS_URL"] == "redis://redis:6379/0" and env["REDIS_BROKER_ENABLED"] == "true"
    assert env["AEGRA_CONFIG"] == "/app/langgraph.auth.json"
    assert env["RUN_MIGRATIONS_ON_STARTUP"] == "false"
    assert aegra["image"] == migrate["image"] and migrate["build"]["dockerfile"] == \
        "deploy/Dockerfile"
    assert aegra["deploy"]["replicas"] >= 2 and "ports" not in aegra, "only the LB is exposed"
    assert "8000" in [str(port) for port in aegra["expose"]]


def test_start_order_is_database_migration_instances_balancer(compose: dict[str, Any]) -> None:
    services = compose["services"]

    assert depends(services["migrate"]) == {"postgres": "service_healthy"}
    assert depends(services["aegra"]) == {"migrate": "service_completed_successfully",
                                          "postgres": "service_healthy",
                                          "redis": "service_healthy"}
    assert depends(services["lb"]) == {"aegra": "service_healthy"}
    assert depends(services["backup"]) == {"postgres": "service_healthy"}
    assert services["migrate"]["command"] == ["python", "-m", "serving.api.migrate"]
    assert "/ready" in " ".join(services["aegra"]["healthcheck"]["test"])


def test_ports_and_persistence(compose: dict[str, Any]) -> None:
    services = compose["services"]

    assert services["lb"]["ports"] == ["8123:8080"]
    assert [s for s, spec in services.items() if "ports" in spec] == ["lb"]
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "--appendonly" in services["redis"]["command"]
    assert "pg_dump -Fc" in " ".join(services["backup"]["command"])
    grace = int(services["aegra"]["stop_grace_period"].rstrip("s"))
    assert grace > 30, "longer than Aegra's WORKER_DRAIN_TIMEOUT"


def test_the_load_balancer_does_not_buffer_streams() -> None:
    nginx = (DEPLOY / "nginx.conf").read_text()

    assert "server aegra:8000" in nginx and "listen 8080;" in nginx
    assert "proxy_buffering off;" in nginx and "proxy_read_timeout 3600s;" in nginx


def test_the_deployment_backends_file_is_valid() -> None:
    config = load_config(DEPLOY / "backends.toml")

    assert {"planner", "drafter", "answer"} <= set(config.chains)
    assert config.backends["vllm"].base_url == "http://vllm-router:8000"  # type: ignore[union-attr]


def test_the_image_installs_from_the_hashed_lock() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()

    assert dockerfile.startswith("#") and "FROM python:3.12-slim" in dockerfile
    assert "--require-hashes" in dockerfile and "requirements-aegra.lock" in dockerfile
    assert '"aegra_api.main:app"' in dockerfile and "--no-deps ." in dockerfile


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "systemd" / name).read_text().replace("\\\n", " "))
    return parser


def test_systemd_units_run_migration_then_instances() -> None:
    migrate, instance = unit("agent-router-migrate.service"), unit("agent-router-aegra@.service")

    assert migrate["Service"]["Type"] == "oneshot"
    assert migrate["Service"]["ExecStart"].endswith(
        ".venv-aegra/bin/python -m serving.api.migrate")
    assert "agent-router-migrate.service" in instance["Unit"]["Requires"]
    command = instance["Service"]["ExecStart"].split()
    assert command[0].endswith(".venv-aegra/bin/python") and "aegra_api.main:app" in command
    assert command[-2:] == ["--port", "%i"]
    assert int(instance["Service"]["TimeoutStopSec"]) > 30
    for service in (migrate, instance):
        assert service["Service"]["EnvironmentFile"] == "/etc/llm-agent-router/aegra.env"
    for name in ("agent-router-migrate.service", "agent-router-aegra@.service"):
        checkout = unit(name)["Service"]["WorkingDirectory"]
        text = (DEPLOY / "systemd" / name).read_text()
        assert f"\nEnvironment=PYTHONPATH={checkout}\n" in text, (
            f"{name}: Aegra's venv holds no project code; the checkout must be on the path")
