"""The README's Python examples run as written (top-level await wrapped in asyncio.run)."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
EXAMPLES = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def runnable(code: str) -> str:
    if "await " not in code:
        return code
    return "import asyncio\n\nasync def main():\n" + textwrap.indent(code, "    ") + \
        "\n\nasyncio.run(main())\n"


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("code", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_readme_example_runs(code, tmp_path, model_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "AGENT_ROUTER_CONFIG": str(ROOT / "backends.toml")}
    done = subprocess.run([sys.executable, "-c", runnable(code)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip(), "every example prints what it got"
