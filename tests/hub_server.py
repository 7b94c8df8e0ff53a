"""A small Hugging Face Hub on 127.0.0.1 for tests: http.server in a thread, answering the routes the real
huggingface_hub client calls, with the headers it reads (checked against huggingface_hub's file_download.py and
utils/_http.py): `GET /api/models` (search: `search`, `filter` tags), `GET /api/models/{id}[/revision/{rev}]`
(siblings with sizes when `blobs=true`), and `HEAD`/`GET /{id}/resolve/{rev}/{file}` with `ETag`,
`X-Repo-Commit` and `Content-Length`; failures carry `X-Error-Code` (RepoNotFound, RevisionNotFound,
EntryNotFound, GatedRepo) as the Hub does. A repo can be gated (401 on files), advertise a file far larger than
it is (`oversize`), or cut a file short (`truncate`). Every request is logged in `requests`.

Run `python -m tests.hub_server PORT [BYTES_PER_S]` to serve a demo set of repos (screenshots of the Hub browser;
the optional rate slows file bodies down so the download progress bar can be seen).
"""
from __future__ import annotations

import hashlib
import http.server
import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Repo:
    """One model repo: files per commit, refs (branch/tag -> commit), and listing facts."""

    id: str
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    likes: int = 0
    downloads: int = 0
    last_modified: str = "2025-01-01T00:00:00.000Z"
    gated: bool = False
    oversize: dict[str, int] = field(default_factory=dict)   # file -> size the Hub claims
    truncate: set[str] = field(default_factory=set)          # files served cut in half

    def add_commit(self, files: dict[str, bytes], *, ref: str = "main") -> str:
        sha = hashlib.sha1(json.dumps(sorted((k, hashlib.sha256(v).hexdigest()) for k, v in files.items()))
                           .encode() + str(len(self.commits)).encode()).hexdigest()
        self.commits[sha] = dict(files)
        self.refs[ref] = sha
        return sha

    def commit(self, rev: str) -> str | None:
        return rev if rev in self.commits else self.refs.get(rev)


class HubServer:
    """`with HubServer() as hub: hub.add("user/name", {...})`; `hub.url` is the endpoint to point the client at."""

    def __init__(self, port: int = 0, *, bytes_per_s: float | None = None) -> None:
        self.repos: dict[str, Repo] = {}
        self.bytes_per_s = bytes_per_s                         # throttle file bodies (to watch a progress bar)
        self.requests: list[tuple[str, str]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._answer(self, head=False)

            def do_HEAD(self) -> None:
                server._answer(self, head=True)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "HubServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def add(self, repo_id: str, files: dict[str, bytes], **facts) -> Repo:
        repo = self.repos.setdefault(repo_id, Repo(repo_id, **facts))
        repo.add_commit(files)
        return repo

    def fetched(self, name: str) -> list[str]:
        """Paths of the GET requests (bodies served) for files called `name`."""
        return [p for m, p in self.requests if m == "GET" and "/resolve/" in p and p.endswith("/" + name)]

    # ---- routes ----
    def _answer(self, h: http.server.BaseHTTPRequestHandler, *, head: bool) -> None:
        self.requests.append(("HEAD" if head else "GET", h.path))
        url = urlsplit(h.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        if parts[:2] == ["api", "models"] and len(parts) == 2:
            return self._json(h, self._search(parse_qs(url.query)))
        if parts[:2] == ["api", "models"] and len(parts) >= 4:
            repo_id, rest = "/".join(parts[2:4]), parts[4:]
            rev = rest[1] if rest[:1] == ["revision"] and len(rest) > 1 else "main"
            return self._info(h, repo_id, rev)
        if len(parts) >= 5 and parts[2] == "resolve":
            return self._resolve(h, "/".join(parts[:2]), parts[3], "/".join(parts[4:]), head=head)
        return self._error(h, 404, "")

    def _listing(self, repo: Repo, sha: str, *, sizes: bool) -> dict:
        files = repo.commits[sha]
        siblings = []
        for name, data in sorted(files.items()):
            entry: dict = {"rfilename": name}
            if sizes:
                size = repo.oversize.get(name, len(data))
                entry.update(size=size, blobId=hashlib.sha1(data).hexdigest())
                if name.endswith((".safetensors", ".bin", ".pth", ".png")):
                    entry["lfs"] = {"size": size, "sha256": hashlib.sha256(data).hexdigest(), "pointerSize": 130}
            siblings.append(entry)
        return {"id": repo.id, "modelId": repo.id, "sha": sha, "likes": repo.likes, "downloads": repo.downloads,
                "lastModified": repo.last_modified, "tags": repo.tags, "private": False,
                "gated": "manual" if repo.gated else False, "siblings": siblings}

    def _search(self, query: dict[str, list[str]]) -> list[dict]:
        text = (query.get("search") or [""])[0].lower()
        tags = query.get("filter") or []
        out = [self._listing(r, r.refs["main"], sizes=False) for r in self.repos.values()
               if text in r.id.lower() and all(t in r.tags for t in tags)]
        limit = int((query.get("limit") or ["1000"])[0])
        return sorted(out, key=lambda d: -d["downloads"])[:limit]

    def _info(self, h, repo_id: str, rev: str) -> None:
        repo = self.repos.get(repo_id)
        if repo is None:
            return self._error(h, 401, "RepoNotFound")        # the Hub answers 401 for missing and private repos
        sha = repo.commit(rev)
        if sha is None:
            return self._error(h, 404, "RevisionNotFound")
        return self._json(h, self._listing(repo, sha, sizes="blobs=true" in h.path.lower()))

    def _resolve(self, h, repo_id: str, rev: str, name: str, *, head: bool) -> None:
        repo = self.repos.get(repo_id)
        if repo is None:
            return self._error(h, 401, "RepoNotFound")
        if repo.gated:
            return self._error(h, 401, "GatedRepo")
        sha = repo.commit(rev)
        if sha is None:
            return self._error(h, 404, "RevisionNotFound")
        data = repo.commits[sha].get(name)
        if data is None:
            return self._error(h, 404, "EntryNotFound", commit=sha)
        size = repo.oversize.get(name, len(data))
        body = data[: len(data) // 2] if name in repo.truncate and not head else data
        h.send_response(200)
        h.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        h.send_header("X-Repo-Commit", sha)
        h.send_header("Content-Length", str(size if head else len(body)))
        h.send_header("Content-Type", "application/octet-stream")
        h.end_headers()
        if head:
            return
        step = 256 << 10
        for i in range(0, len(body), step):
            h.wfile.write(body[i:i + step])
            if self.bytes_per_s:
                time.sleep(step / self.bytes_per_s)

    @staticmethod
    def _json(h, payload) -> None:
        body = json.dumps(payload).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    @staticmethod
    def _error(h, status: int, code: str, *, commit: str | None = None) -> None:
        body = json.dumps({"error": code or "not found"}).encode()
        h.send_response(status)
        if code:
            h.send_header("X-Error-Code", code)
        if commit:
            h.send_header("X-Repo-Commit", commit)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)


if __name__ == "__main__":     # a demo Hub for screenshots: python -m tests.hub_server 8790 [2e6]
    import sys

    from tests.hub_repos import demo_repos

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    with HubServer(port, bytes_per_s=float(sys.argv[2]) if len(sys.argv) > 2 else None) as hub:
        demo_repos(hub)
        print(hub.url, flush=True)
        while True:
            time.sleep(3600)
