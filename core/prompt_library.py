"""The one place prompts are loaded: Jinja2 templates from the ``prompts`` package, StrictUndefined.

Templates are package data (``prompts/*.j2``), found through :mod:`importlib.resources`, so a wheel
installed anywhere renders the same prompts as a checkout. Prompts are plain text for a model, never HTML:
autoescape would corrupt the user's quoted text; data is fenced or passed through ``tojson`` instead.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import jinja2

from core.ports import PromptMessage

PROMPTS_PACKAGE = "prompts"


class ResourceLoader(jinja2.BaseLoader):
    """Templates read with importlib.resources (works from a wheel, a zip or a checkout)."""

    def __init__(self, package: str) -> None:
        self._package = package

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str | None, Any]:
        if "/" in template or "\\" in template or template.startswith("."):
            raise jinja2.TemplateNotFound(template)
        resource = resources.files(self._package).joinpath(template)
        if not resource.is_file():
            raise jinja2.TemplateNotFound(template)
        return resource.read_text(encoding="utf-8"), None, lambda: True

    def list_templates(self) -> list[str]:
        return sorted(
            r.name for r in resources.files(self._package).iterdir() if r.name.endswith(".j2") and r.is_file()
        )


@cache
def environment() -> jinja2.Environment:
    """The shared environment: every prompt renders through it (a missing variable is an error)."""
    env = jinja2.Environment(
        loader=ResourceLoader(PROMPTS_PACKAGE),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701
        keep_trailing_newline=False,
    )
    # Keep Hangul readable for the model; tojson still escapes <, >, & and quotes.
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}
    return env


def template_names() -> list[str]:
    """Every prompt template shipped with the package."""
    return environment().list_templates()


def template(name: str) -> jinja2.Template:
    """The template ``prompts/<name>``."""
    return environment().get_template(name)


def render_text(name: str, /, **variables: Any) -> str:
    """Render ``prompts/<name>`` to text (stripped)."""
    return template(name).render(**variables).strip()


def render_messages(name: str, /, **variables: Any) -> list[PromptMessage]:
    """A template with a ``system`` block as a system message (if any), then its body as the user turn."""
    module = template(name).make_module(variables)
    messages = []
    system = str(getattr(module, "system", "")).strip()
    if system:
        messages.append(PromptMessage(role="system", content=system))
    messages.append(PromptMessage(role="user", content=str(module).strip()))
    return messages
