"""docker-compose.yml, the Dockerfile and the README's "Scaling" agree with each other and with the settings.

Docker cannot run here; these checks catch what breaks a deployment silently: a YAML error, a missing
healthcheck, an extra that does not exist, a VOS_ variable the settings would reject at start-up.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.settings import _unknown_env_keys
from tests.support.extras import need

yaml = need("yaml")
ROOT = Path(__file__).resolve().parents[1]
SERVICES = {"bot", "worker", "worker-gpu", "postgres", "redis", "minio"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_every_service_is_there_with_a_healthcheck_and_named_volumes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == SERVICES
    declared = set(compose["volumes"])
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in declared, (name, source)
    for name in ("bot", "worker", "worker-gpu"):
        assert services[name]["env_file"] == ".env"
        assert set(services[name]["depends_on"]) == {"postgres", "redis", "minio"}
        assert all(d["condition"] == "service_healthy" for d in services[name]["depends_on"].values())
    assert services["worker"]["command"] == ["vos", "worker"] == services["worker-gpu"]["command"]
    assert services["bot"]["command"] == ["vos", "run"]


def test_the_gpu_worker_reserves_nvidia_devices_and_builds_cuda_torch(compose: dict[str, Any]) -> None:
    gpu = compose["services"]["worker-gpu"]
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert gpu["build"]["args"]["TORCH"] == "cuda" and gpu["profiles"] == ["gpu"]
    assert compose["services"]["worker"]["build"]["args"]["TORCH"] == "cpu"


def test_build_args_name_real_extras_and_the_dockerfile_uses_them(compose: dict[str, Any]) -> None:
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for arg in ("EXTRAS", "TORCH"):
        assert re.search(rf"^ARG {arg}=", dockerfile, re.MULTILINE), arg
    for name in ("bot", "worker", "worker-gpu"):
        wanted = set(compose["services"][name]["build"]["args"]["EXTRAS"].split(","))
        assert wanted <= extras, (name, wanted - extras)
        assert "s3" in wanted and "redis" in wanted
    assert {"speech", "voice"} <= set(compose["services"]["worker"]["build"]["args"]["EXTRAS"].split(","))
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()  # secrets never baked into the image


def test_every_vos_variable_is_a_setting(compose: dict[str, Any]) -> None:
    env: dict[str, str] = {}
    for service in compose["services"].values():
        env.update({k: str(v) for k, v in (service.get("environment") or {}).items()})
    for raw in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        line = raw.removeprefix("# ")
        if re.match(r"^[A-Z_]+=", line):
            key, _, value = line.partition("=")
            env[key] = value
    assert "VOS_BLOBS__BACKEND" in env and "VOS_JOBS__REDIS_URL" in env
    assert _unknown_env_keys(env) == []


def test_the_readme_scaling_section_names_only_real_services(compose: dict[str, Any]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Scaling", 1)[1].split("\n## ", 1)[0]
    scaled = set(re.findall(r"--scale ([\w-]+)=", section))
    tabled = set(re.findall(r"^\| `([\w-]+)` \|", section, re.MULTILINE))
    assert scaled == {"worker", "worker-gpu"}
    assert tabled == SERVICES
    assert (scaled | tabled) <= set(compose["services"])
