"""A fake Hugging Face Hub on 127.0.0.1: what huggingface_hub asks when it pulls one file.

Two loopback servers, because the real Hub sends LFS downloads to another host (its CDN)
and huggingface_hub treats that host differently (no redirect following on the metadata
request, no token sent):

``hub`` (``HF_ENDPOINT``)
    - ``GET /api/models/{repo}[/revision/{revision}]``: ``HfApi.model_info``; ``id``, ``sha``
      (the commit the revision, or the default branch ``main``, names), ``siblings``.
    - ``POST /api/models/{repo}/paths-info/{revision}``: ``HfApi.get_paths_info``; for each
      path asked (form field ``paths``) that exists: ``type``, ``path``, ``size``, ``oid``
      and, for an LFS file, ``lfs: {oid: <sha256>, size, pointerSize}``.
    - ``HEAD`` or ``GET /{repo}/resolve/{revision}/{file}``: ``hf_hub_download``. An LFS file
      answers ``302`` to the CDN with ``X-Repo-Commit``, ``X-Linked-Etag`` (its sha256),
      ``X-Linked-Size`` and ``ETag`` (the pointer's git oid); any other file ``200`` with
      ``X-Repo-Commit``, ``ETag`` and its bytes.
    - Errors as the Hub sends them: ``404`` with ``X-Error-Code`` ``RepoNotFound``,
      ``RevisionNotFound`` or ``EntryNotFound`` (with ``X-Repo-Commit``) and
      ``X-Error-Message``.

``cdn``
    - ``GET /blobs/{sha256}``: the bytes (``served`` when a test tampers with them).

No response carries Xet headers (``X-Xet-Hash`` ...), so huggingface_hub downloads over
plain HTTP. Anything else is answered ``404`` and kept in ``unexpected``; tests assert it
stays empty, and that both servers saw every request the pull made.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

from tests.wire._http import LoopbackServer, Recorded, Reply

__all__ = ["COMMIT", "FakeHub", "HubEntry"]

COMMIT = "3f5c1a9e0b7d4c2a8e6f1b0d9c7a5e3f2b1d0c9a"
_MODEL_INFO = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<revision>[^/]+))?$")
_PATHS_INFO = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/paths-info/(?P<revision>[^/]+)$")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<file>.+)$")
_BLOB = re.compile(r"^/blobs/(?P<sha256>[0-9a-f]{64})$")


def git_blob_oid(data: bytes) -> str:
    """Return git's object id of a blob holding ``data``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass
class HubEntry:
    """A file in a fake repository: the bytes the Hub describes, and the bytes its CDN serves."""

    data: bytes
    lfs: bool = True
    served: bytes | None = None

    @property
    def sha256(self) -> str:
        """Return the sha256 the Hub states: that of ``data``."""
        return hashlib.sha256(self.data).hexdigest()

    def pointer(self) -> bytes:
        """Return the Git LFS pointer file that stands for the file in git."""
        return (f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\n"
                f"size {len(self.data)}\n").encode()


@dataclass
class FakeHub:
    """The two servers, with ``repos``: repo id -> file name -> entry, all at ``COMMIT``."""

    repos: dict[str, dict[str, HubEntry]] = field(default_factory=dict)
    unexpected: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.hub = LoopbackServer(self._hub, name="fake-hf-hub")
        self.cdn = LoopbackServer(self._cdn, name="fake-hf-cdn")

    @property
    def endpoint(self) -> str:
        """Return the Hub's base URL, for ``HF_ENDPOINT``."""
        return self.hub.base_url

    @property
    def requests(self) -> list[Recorded]:
        """Return every request either server received: Hub first, then CDN."""
        return [*self.hub.requests, *self.cdn.requests]

    def __enter__(self) -> FakeHub:
        self.hub.start()
        self.cdn.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cdn.stop()
        self.hub.stop()

    async def _not_found(self, reply: Reply, code: str, message: str) -> None:
        await reply.send(404, {"error": message}, headers={
            "X-Error-Code": code, "X-Error-Message": message, "X-Repo-Commit": COMMIT})

    async def _repo(self, reply: Reply, repo: str, revision: str) -> dict[str, HubEntry] | None:
        if repo not in self.repos:
            await self._not_found(reply, "RepoNotFound", "Repository not found")
            return None
        if unquote(revision) not in ("main", COMMIT):
            await self._not_found(reply, "RevisionNotFound", "Invalid rev id: " + revision)
            return None
        return self.repos[repo]

    async def _hub(self, request: Recorded, reply: Reply) -> None:
        if request.method == "GET" and (match := _MODEL_INFO.match(request.path)):
            files = await self._repo(reply, match["repo"], match["revision"] or "main")
            if files is not None:
                await reply.send(200, {"id": match["repo"], "sha": COMMIT, "private": False,
                                       "siblings": [{"rfilename": name} for name in files]})
        elif request.method == "POST" and (match := _PATHS_INFO.match(request.path)):
            files = await self._repo(reply, match["repo"], match["revision"])
            if files is not None:
                asked = parse_qs(request.body.decode()).get("paths", [])
                await reply.send(200, [self._path_info(name, files[name])
                                       for name in asked if name in files])
        elif request.method in ("HEAD", "GET") and (match := _RESOLVE.match(request.path)):
            files = await self._repo(reply, match["repo"], match["revision"])
            if files is not None:
                await self._resolve(request, reply, files.get(unquote(match["file"])))
        else:
            self.unexpected.append(request)
            await reply.send(404, {"error": "not an endpoint of the fake Hub"})

    @staticmethod
    def _path_info(name: str, entry: HubEntry) -> dict[str, object]:
        info: dict[str, object] = {"type": "file", "path": name, "size": len(entry.data)}
        if entry.lfs:
            pointer = entry.pointer()
            info |= {"oid": git_blob_oid(pointer), "lfs": {
                "oid": entry.sha256, "size": len(entry.data), "pointerSize": len(pointer)}}
        else:
            info["oid"] = git_blob_oid(entry.data)
        return info

    async def _resolve(self, request: Recorded, reply: Reply, entry: HubEntry | None) -> None:
        if entry is None:
            await self._not_found(reply, "EntryNotFound", "Entry not found")
            return
        head = request.method == "HEAD"
        if entry.lfs:
            await reply.send(302, b"", headers={
                "Location": f"{self.cdn.base_url}/blobs/{entry.sha256}",
                "X-Repo-Commit": COMMIT, "ETag": f'"{git_blob_oid(entry.pointer())}"',
                "X-Linked-Etag": f'"{entry.sha256}"', "X-Linked-Size": str(len(entry.data))})
            return
        headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{git_blob_oid(entry.data)}"'}
        if head:
            headers["Content-Length"] = str(len(entry.data))
        await reply.send(200, b"" if head else entry.data, "application/octet-stream", headers)

    async def _cdn(self, request: Recorded, reply: Reply) -> None:
        match = _BLOB.match(request.path)
        entry = next((entry for files in self.repos.values() for entry in files.values()
                      if match and entry.lfs and entry.sha256 == match["sha256"]), None)
        if request.method != "GET" or entry is None:
            self.unexpected.append(request)
            await reply.send(404, {"error": "no such blob"})
            return
        body = entry.data if entry.served is None else entry.served
        await reply.send(200, body, "application/octet-stream")
