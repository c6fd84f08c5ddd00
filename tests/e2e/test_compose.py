"""docker-compose.yml is validated here (no Docker engine runs on CI); the same processes
and dagster.yaml run without containers in tests/e2e."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose")


@pytest.mark.skipif(COMPOSE is None, reason="docker-compose not installed (.ci/run installs it)")
def test_docker_compose_accepts_the_file():
    result = subprocess.run(
        [COMPOSE, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def test_one_daemon_and_every_service_shares_the_deployment_instance():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    daemons = [name for name, s in services.items() if "dagster-daemon" in str(s.get("command"))]
    assert daemons == ["daemon"]
    assert {"postgres", "code-server", "webserver", "daemon"} <= set(services)
    assert "healthcheck" in services["postgres"]
    for name in ("code-server", "webserver", "daemon"):
        assert services[name]["build"] == "."
        assert "LANGSMITH_API_KEY" in services[name]["environment"]


def test_deployment_instance_config_is_valid_dagster_config(tmp_path):
    from dagster._core.instance.config import dagster_instance_config

    for config in ("dagster.yaml", "dagster.local.yaml"):
        folder = tmp_path / config
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "deploy" / config, folder / "dagster.yaml")
        loaded, _ = dagster_instance_config(str(folder))
        assert loaded["run_coordinator"]["class"] == "QueuedRunCoordinator"
