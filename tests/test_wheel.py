"""A wheel built from the tree works outside it: migrations, prompts and a console chat from the installed package.

The wheel goes into a fresh virtual environment (its core dependencies from pip's configured indexes) and
every command runs from an empty directory with no path to the checkout, so nothing can come from the tree.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "adapters", "core", "prompts", "migrations")

PROMPT_BUILD = """
import json, sys
from pathlib import Path
import core, prompts
from core.prompt_library import template_names
from core.personas.prompting import PersonaCard, PromptBudget, build_prompt
from core.personas.style.traits import build_prompt as traits_prompt
from core.safety.classifier import render_classifier_prompt
from core.prompt_library import render_messages as meeting_prompt

card = PersonaCard(star_name="엄마", relation="어머니", user_name="민수", examples=("밥은 먹었니",))
chat = build_prompt(card, [], [], "엄마 뭐해?", budget=PromptBudget(context_tokens=4096, reply_tokens=512))
traits = traits_prompt("엄마", ["밥 먹었어?", "일찍 자"], "ko")
scam = render_classifier_prompt("scam_classifier.j2", text="계좌 번호 알려줘", role="user")
summary = meeting_prompt("meeting_summary_chunk.j2", locale="en", lines=["[t=0.0] A: hi"], part=1, parts=1)
print(json.dumps({
    "core": core.__file__, "prompts": str(Path(prompts.__file__).parent), "templates": template_names(),
    "chat": [m.content for m in chat.messages], "traits": traits[1].content, "scam": scam[1].content,
    "summary": summary[-1].content,
}, ensure_ascii=False))
"""


def _tracked_package_files() -> set[str]:
    """Files the wheel must carry: everything under the packages but Python caches."""
    if shutil.which("git") and (ROOT / ".git").exists():
        out = subprocess.run(
            ["git", "ls-files", *PACKAGES], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        return set(out.split())
    return {
        str(p.relative_to(ROOT))
        for pkg in PACKAGES
        for p in (ROOT / pkg).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def _build_wheel(out: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)]
    setuptools_major = int(importlib.metadata.version("setuptools").split(".")[0])
    if setuptools_major >= 77:  # build offline with this environment's setuptools
        cmd.insert(4, "--no-build-isolation")
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    (wheel,) = out.glob("vos-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_wheel(tmp_path_factory.mktemp("dist"))


@pytest.mark.slow
def test_the_wheel_carries_every_package_file(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    missing = sorted(_tracked_package_files() - names)
    assert not missing, missing
    assert "prompts/persona_system.j2" in names and "migrations/script.py.mako" in names
    assert not any(n.startswith("tests/") for n in names)


@pytest.mark.slow
def test_the_installed_wheel_migrates_chats_and_builds_prompts(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=300)
    python, vos = venv / "bin" / "python", venv / "bin" / "vos"
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOS_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(VOS_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1", PIP_NO_INPUT="1")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if install.returncode != 0 and "No matching distribution" in install.stderr:
        pytest.skip(f"no package index answers for the wheel's dependencies: {install.stderr.strip()[-300:]}")
    assert install.returncode == 0, install.stderr[-3000:]

    def run(*args: str, stdin: str = "") -> str:
        done = subprocess.run(
            args, cwd=work, env=env, input=stdin, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-3000:])
        return done.stdout

    run(str(vos), "db", "upgrade")
    assert "agree" in run(str(vos), "db", "check")
    assert (tmp_path / "data").is_dir()
    chat = run(str(vos), "console", "--script", "-", stdin="밥 먹었어?\n")
    assert "you> 밥 먹었어?" in chat
    assert any(line.startswith("★>") and len(line) > 3 for line in chat.splitlines()), chat

    built = json.loads(run(str(python), "-c", PROMPT_BUILD))
    site = venv.resolve()
    assert Path(built["core"]).resolve().is_relative_to(site), built["core"]
    assert Path(built["prompts"]).resolve().is_relative_to(site), built["prompts"]
    assert built["templates"] == sorted(p.name for p in (ROOT / "prompts").glob("*.j2"))
    assert "엄마" in "\n".join(built["chat"]) and "엄마 뭐해?" in built["chat"][-1]
    assert "일찍 자" in built["traits"]
    assert "계좌 번호 알려줘" in built["scam"]
    assert "[t=0.0] A: hi" in built["summary"]
