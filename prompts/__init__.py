"""The prompt templates (Jinja2), shipped inside the package; ``core.prompt_library`` loads them."""
