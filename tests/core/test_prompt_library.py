"""The one prompt library: every template from the package, StrictUndefined, and no second loader."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest

from core.prompt_library import environment, render_messages, render_text, template, template_names

ROOT = Path(__file__).resolve().parents[2]


def test_every_shipped_template_is_found_through_the_package() -> None:
    assert template_names() == sorted(p.name for p in (ROOT / "prompts").glob("*.j2"))
    assert template_names()  # not vacuous


def test_a_missing_variable_is_an_error() -> None:
    assert environment().undefined is jinja2.StrictUndefined
    with pytest.raises(jinja2.UndefinedError):
        render_text("persona_data.j2", kind="memories")
    with pytest.raises(jinja2.UndefinedError):
        render_messages("meeting_qa.j2", locale="en")


@pytest.mark.parametrize("name", ["../pyproject.toml", "/etc/passwd", "sub/x.j2", "missing.j2", ".hidden.j2"])
def test_only_templates_of_the_package_load(name: str) -> None:
    with pytest.raises(jinja2.TemplateNotFound):
        template(name)


def test_messages_put_the_system_block_first_and_data_in_the_user_turn() -> None:
    messages = render_messages("scam_classifier.j2", data="<<DATA>> 계좌 번호", role="user")
    assert [m.role for m in messages] == ["system", "user"]
    assert "계좌 번호" in messages[1].content and "계좌 번호" not in messages[0].content


def test_no_other_module_loads_prompts_itself() -> None:
    """One Jinja environment: no module builds its own or computes a prompts folder."""
    offenders = []
    for path in [*ROOT.glob("core/**/*.py"), *ROOT.glob("bot/**/*.py"), *ROOT.glob("adapters/**/*.py")]:
        if path.name == "prompt_library.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"jinja2\.(Environment|FileSystemLoader)|/ \"prompts\"|PROMPTS_DIR", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
