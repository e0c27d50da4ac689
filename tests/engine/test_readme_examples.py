"""The documentation's Python examples run as written (top-level await wrapped in asyncio.run).

Every ```python block in README.md and under docs/ is an example, wherever it lives, so
moving a page keeps its examples tested. Illustrations that cannot run here (they need
a server) use a plain ``` fence.
"""

import os
import re
import sys
import textwrap
from pathlib import Path

import pytest

from tests import procs

ROOT = Path(__file__).parents[2]
EXAMPLE_TIMEOUT_S = 600  # generous: the model can crawl on a loaded machine
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
FOUND = [(page.relative_to(ROOT), code) for page in PAGES if page.exists()
         for code in re.findall(r"^```python\n(.*?)^```", page.read_text(), re.S | re.M)]
EXAMPLES = [code for _, code in FOUND]
IDS = [f"{page}-{i}" for i, (page, _) in enumerate(FOUND)]


def runnable(code: str) -> str:
    if "await " not in code:
        return code
    return "import asyncio\n\nasync def main():\n" + textwrap.indent(code, "    ") + \
        "\n\nasyncio.run(main())\n"


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 3, f"no ```python examples left in {[str(p) for p in PAGES]}"


@pytest.mark.parametrize("code", EXAMPLES, ids=IDS)
def test_readme_example_runs(code, tmp_path, model_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "AGENT_ROUTER_CONFIG": str(ROOT / "backends.toml")}
    done = procs.run([sys.executable, "-c", runnable(code)], cwd=tmp_path, env=env,
                     capture_output=True, text=True, timeout=EXAMPLE_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip(), "every example prints what it got"
