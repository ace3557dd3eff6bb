"""docker-compose.yml, the Dockerfile and the README's "Scaling" agree with each other and with the settings.

Docker cannot run here; these checks catch what breaks a deployment silently: a YAML error, a missing
healthcheck, an extra that does not exist, a VOS_ variable the settings would reject at start-up.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
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


def _extras(service: dict[str, Any]) -> set[str]:
    return set(service["build"]["args"]["EXTRAS"].split(","))


def test_images_build_without_a_compiler_from_the_wheel(compose: dict[str, Any]) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    instructions = "\n".join(line for line in dockerfile.splitlines() if not line.lstrip().startswith("#"))
    assert not re.search(r"\b(gcc|g\+\+|build-essential|clang)\b", instructions)
    # resemblyzer's `webrtcvad` is an sdist needing gcc: no extra may pull it, the image adds it --no-deps
    for extra, requirements in pyproject["project"]["optional-dependencies"].items():
        names = {re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].lower() for r in requirements}
        assert not names & {"resemblyzer", "webrtcvad"}, extra
    assert re.search(r"pip install [^\n]*--no-deps resemblyzer", dockerfile)
    assert "resemblyzer==" in (ROOT / "constraints.txt").read_text()
    # the image runs the installed wheel, not the source tree
    assert re.search(r"pip wheel [^\n]*--no-deps", dockerfile) and "COPY --from=wheel" in dockerfile
    assert not re.search(r"pip install[^\n]* -e ", dockerfile)
    for name in ("bot", "worker", "worker-gpu"):
        service = compose["services"][name]
        if "voice" in _extras(service):  # torch from the CPU (or CUDA) index, never PyPI's default
            assert service["build"]["args"].get("TORCH") in {"cpu", "cuda"}, name


def test_voice_work_runs_where_the_readme_says(compose: dict[str, Any]) -> None:
    services = compose["services"]
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Scaling", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([\w-]+)` \| (.*) \|$", section, re.MULTILINE))
    for name in ("bot", "worker", "worker-gpu"):
        named = re.search(r"extras `([\w,]+)`", rows[name])
        if named:  # the README names the image's extras exactly as compose builds them
            assert set(named.group(1).split(",")) == _extras(services[name]), name
    # voice messages, the /voice profile and voice memories run in the bot; separation jobs on workers
    assert {"telegram", "discord", "speech", "voice"} <= _extras(services["bot"])
    assert "voice messages" in rows["bot"] and "/voice" in rows["bot"]
    for name in ("worker", "worker-gpu"):
        assert {"speech", "voice"} <= _extras(services[name]), name


def _compose_env(compose: dict[str, Any], service: str) -> dict[str, str]:
    """The environment compose gives ``service`` with .env copied from .env.example as shipped."""
    dotenv = {}
    for raw in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        key, sep, value = raw.partition("=")
        if sep and re.fullmatch(r"[A-Z_]+", key):
            dotenv[key] = value
    env = dict(dotenv)
    for key, value in (compose["services"][service].get("environment") or {}).items():
        env[key] = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: dotenv.get(m.group(1), m.group(2)), str(value))
    return env


def test_the_bot_without_a_token_says_so_in_one_line_and_does_not_loop(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    bot = compose["services"]["bot"]
    policy, _, tries = bot["restart"].partition(":")
    assert policy == "on-failure" and 0 < int(tries) <= 10  # exit 1 is retried a few times, then it stops
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOS_")}
    env.update(_compose_env(compose, "bot"))
    assert "VOS_TELEGRAM__TOKEN" not in env and "VOS_DISCORD__TOKEN" not in env
    env["VOS_DATA_DIR"] = str(tmp_path / "data")  # /data is the container's volume
    vos = Path(sys.executable).parent / "vos"
    cmd = [str(vos)] if vos.exists() else [sys.executable, "-m", "bot"]
    done = subprocess.run(
        [*cmd, *bot["command"][1:]], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert "no platform token" in line and "VOS_TELEGRAM__TOKEN" in line
