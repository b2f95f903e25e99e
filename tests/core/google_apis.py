"""A loopback server speaking the parts of Google Drive v3 and the Cloud Storage JSON API an export download uses.

Drive: ``GET /drive/v3/files`` (files.list: the ``q`` language's clauses
``name = / contains``, ``mimeType = / !=``, ``trashed = false``, ``'ID' in
parents`` with and/or/not and parentheses, evaluated per file; pages of
``page_size`` with ``nextPageToken``) and ``GET /drive/v3/files/ID?alt=media``.
Cloud Storage: ``GET /storage/v1/b/BUCKET/o?prefix=`` (objects.list, paged)
and ``GET /storage/v1/b/BUCKET/o/NAME?alt=media``. Every request needs
``Authorization: Bearer <token>``; errors are Google's JSON error bodies.
Nothing leaves 127.0.0.1.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from urllib.parse import parse_qs, unquote, urlsplit

from netfaults import LoopbackHttpServer

FOLDER = "application/vnd.google-apps.folder"
_TOKEN = re.compile(r"\s*(?:('(?:[^'\\]|\\.)*')|(!=|=|\(|\))|([A-Za-z]+))")


def _tokens(q: str) -> list:
    out, pos = [], 0
    while pos < len(q.rstrip()):
        m = _TOKEN.match(q, pos)
        if not m:
            raise ValueError(f"Invalid query at {pos}")
        s, op, word = m.groups()
        out.append(("str", re.sub(r"\\(.)", r"\1", s[1:-1])) if s else ("op", op) if op else ("word", word))
        pos = m.end()
    return out


def drive_match(q: str, f: dict) -> bool:
    """Evaluate a Drive ``q`` on one file's metadata (the clauses listed above)."""
    toks, pos = _tokens(q), [0]

    def take():
        pos[0] += 1
        return toks[pos[0] - 1]

    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else (None, None)

    def expr():
        v = term()
        while peek() == ("word", "or"):
            take()
            v = term() | v
        return v

    def term():
        v = factor()
        while peek() == ("word", "and"):
            take()
            v = factor() & v
        return v

    def factor():
        if peek() == ("op", "("):
            take()
            v = expr()
            assert take() == ("op", ")")
            return v
        if peek() == ("word", "not"):
            take()
            return not factor()
        kind, a = take()
        if kind == "str":                                  # 'ID' in parents
            assert take() == ("word", "in") and take() == ("word", "parents")
            return a in f["parents"]
        _, op = take()
        vkind, v = take()
        value = {"true": True, "false": False}[v] if vkind == "word" else v
        have = f[{"name": "name", "mimeType": "mimeType", "trashed": "trashed"}[a]]
        if op == "contains":                               # Drive: a prefix match on the name
            return have.startswith(value)
        return have == value if op == "=" else have != value

    v = expr()
    if pos[0] != len(toks):
        raise ValueError("Invalid query")
    return bool(v)


def _error(status: int, message: str, reason: str) -> bytes:
    return json.dumps({"error": {"code": status, "message": message,
                                 "errors": [{"domain": "global", "reason": reason, "message": message}]}}).encode()


class GoogleApis(LoopbackHttpServer):
    def __init__(self, token: str = "test-token", page_size: int = 2) -> None:
        self.token, self.page_size = token, page_size
        self.files: dict[str, dict] = {}                     # Drive id -> metadata + data
        self.objects: dict[tuple[str, str], dict] = {}       # (bucket, name) -> metadata + data
        self.requests: list[str] = []                        # every path with its query
        self.faults: list[tuple[str, int, str, str]] = []    # (path regex, status, reason, message), used once
        self.corrupt_once: set[str] = set()                  # media paths answered once with flipped bytes
        self.stall_after: int | None = None                 # media: send this many bytes, then hold
        self._ids = 0
        super().__init__()
        self.drive_api, self.storage_api = f"{self.url}/drive/v3", f"{self.url}/storage/v1"

    # --- content
    def _id(self) -> str:
        self._ids += 1
        return f"id{self._ids:04d}"

    def folder(self, name: str, parent: str = "root") -> str:
        fid = self._id()
        self.files[fid] = {"id": fid, "name": name, "mimeType": FOLDER, "parents": [parent], "trashed": False,
                           "createdTime": "2026-01-01T00:00:00.000Z"}
        return fid

    def drive_file(self, name: str, parent: str, data: bytes, created: str = "2026-03-01T10:00:00.000Z",
                   trashed: bool = False) -> str:
        fid = self._id()
        self.files[fid] = {"id": fid, "name": name, "mimeType": "image/tiff", "parents": [parent], "trashed": trashed,
                           "createdTime": created, "size": str(len(data)),
                           "md5Checksum": hashlib.md5(data).hexdigest(), "data": data}
        return fid

    def gcs_object(self, bucket: str, name: str, data: bytes, created: str = "2026-03-01T10:00:00.000Z") -> None:
        self.objects[(bucket, name)] = {"name": name, "bucket": bucket, "size": str(len(data)),
                                        "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode(),
                                        "timeCreated": created, "data": data}

    # --- protocol
    def _send(self, h, status: int, body: bytes, ctype: str = "application/json") -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _media(self, h, path: str, data: bytes) -> None:
        if path in self.corrupt_once:
            self.corrupt_once.discard(path)
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        if self.stall_after is None:
            return self._send(h, 200, data, "application/octet-stream")
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data[:self.stall_after])
        h.wfile.flush()
        self.holding.set()
        self.release.wait(30)

    def _page(self, items: list, query: dict) -> tuple[list, dict]:
        start = int(query.get("pageToken", ["0"])[0])
        size = min(self.page_size, int(query.get("pageSize", [self.page_size])[0]))
        more = {"nextPageToken": str(start + size)} if start + size < len(items) else {}
        return items[start:start + size], more

    def _answer(self, h) -> None:
        parts = urlsplit(h.path)
        path, query = parts.path, parse_qs(parts.query)
        self.requests.append(h.path)
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            return self._send(h, 401, _error(401, "Request is missing required authentication credential.",
                                             "required"))
        for i, (pattern, status, reason, message) in enumerate(self.faults):
            if re.search(pattern, path):
                del self.faults[i]
                return self._send(h, status, _error(status, message, reason))
        media = query.get("alt") == ["media"]
        if path == "/drive/v3/files":
            try:
                hits = [f for f in self.files.values() if drive_match(query.get("q", [""])[0], f)]
            except (ValueError, KeyError, AssertionError):
                return self._send(h, 400, _error(400, "Invalid Value", "invalid"))
            page, more = self._page(hits, query)
            meta = [{k: v for k, v in f.items() if k != "data"} for f in page]
            return self._send(h, 200, json.dumps({"kind": "drive#fileList", "incompleteSearch": False,
                                                  "files": meta, **more}).encode())
        m = re.fullmatch(r"/drive/v3/files/([^/]+)", path)
        if m:
            f = self.files.get(unquote(m.group(1)))
            if f is None or "data" not in f:
                return self._send(h, 404, _error(404, f"File not found: {m.group(1)}.", "notFound"))
            return self._media(h, path, f["data"]) if media else \
                self._send(h, 200, json.dumps({k: v for k, v in f.items() if k != "data"}).encode())
        m = re.fullmatch(r"/storage/v1/b/([^/]+)/o(?:/(.+))?", path)
        if m:
            bucket, name = unquote(m.group(1)), m.group(2) and unquote(m.group(2))
            if name is None:
                prefix = query.get("prefix", [""])[0]
                hits = [o for (b, n), o in sorted(self.objects.items()) if b == bucket and n.startswith(prefix)]
                page, more = self._page(hits, query)
                return self._send(h, 200, json.dumps({"kind": "storage#objects", **more, "items": [
                    {k: v for k, v in o.items() if k != "data"} for o in page]}).encode())
            o = self.objects.get((bucket, name))
            if o is None:
                return self._send(h, 404, _error(404, "No such object: " + f"{bucket}/{name}", "notFound"))
            return self._media(h, path, o["data"])
        self._send(h, 404, _error(404, "Not Found", "notFound"))
