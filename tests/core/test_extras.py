"""The install hint: real extras, the right command, and no `pip install 'vos[...]'` anywhere."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from core.extras import INSTALL_ALL, NEEDS_MAKE, install_hint
from tests.support.extras import EXTRA_OF

ROOT = Path(__file__).resolve().parents[2]
EXTRAS = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])


def test_hints_name_the_checkout_and_a_real_extra() -> None:
    for extra in EXTRAS - NEEDS_MAKE:
        assert install_hint(extra).startswith(f"pip install -e '.[{extra}]' in the VOS checkout")
    assert (
        install_hint("voice")
        == "run make install-all in the VOS checkout (the 'voice' extra and resemblyzer)"
    )
    assert install_hint("speech").endswith("(or make install-all)")
    assert "make install-all" not in install_hint("llama")  # llama-cpp-python needs a compiler: not in it
    assert install_hint() == "pip install -e . in the VOS checkout (or make install)"


def test_make_install_all_installs_exactly_the_cpu_extras() -> None:
    makefile = (ROOT / "Makefile").read_text()
    (extras,) = re.findall(r"^EXTRAS \?= (\S+)$", makefile, re.MULTILINE)
    assert set(extras.split(",")) == INSTALL_ALL
    assert INSTALL_ALL <= EXTRAS and NEEDS_MAKE <= INSTALL_ALL
    assert {e for e in EXTRA_OF.values() if e} <= EXTRAS  # the tests' skip reasons name real extras


def test_no_message_tells_anyone_to_pip_install_vos_from_pypi() -> None:
    wrong = re.compile(r"""pip install ['"]?vos\[""")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("core", "bot", "adapters", "bench")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in {".py", ".toml", ".md", ".j2"} and wrong.search(path.read_text(encoding="utf-8"))
    ]
    offenders += [
        name for name in ("README.md", "Dockerfile", "Makefile") if wrong.search((ROOT / name).read_text())
    ]
    assert offenders == []
