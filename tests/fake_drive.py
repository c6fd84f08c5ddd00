"""A local imitation of Google Drive v3 (and its OAuth token endpoint) for the real client.

Stdlib only (http.server in a thread, loopback, free port). It implements what the archive
store uses, with Drive's rules where they matter to correctness:
- files.list with `q` (name/parents/mimeType/trashed terms joined by `and`, quoted strings
  with `\\` escapes; anything else is a 400), `fields`, paging (`pageSize` capped, so
  callers must follow `nextPageToken`), newest first (a caller that takes the first hit
  without ordering is caught), shared-drive items only with `supportsAllDrives` +
  `includeItemsFromAllDrives` and `corpora=drive|allDrives`;
- files.get (metadata, `alt=media` with Range), files.create/update (metadata, multipart,
  media, resumable with 308 + Range and `bytes */N` status queries), and `fields`
  partial responses (without `fields` only kind,id,name,mimeType, as Drive does);
- OAuth: `POST /token` for refresh-token and service-account JWT grants; scopes bind
  (`drive.file` sees only files created through the API); a service account without a
  subject cannot store files outside a shared drive (403 storageQuotaExceeded).
Faults are injected per request (`fail`), md5 corruption per instance (`corrupt_md5`),
barriers force concurrent requests to interleave (`hold`), and every request is logged.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FOLDER_MIME = "application/vnd.google-apps.folder"
SCOPE_PREFIX = "https://www.googleapis.com/auth/"
_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass
class FakeFile:
    id: str
    name: str
    mime: str
    parents: list[str]
    drive_id: str | None
    created: str
    content: bytes = b""
    md5: str | None = None
    trashed: bool = False
    app_created: bool = True
    modified: str = ""

    def resource(self, base_url: str) -> dict[str, Any]:
        item: dict[str, Any] = {
            "kind": "drive#file",
            "id": self.id,
            "name": self.name,
            "mimeType": self.mime,
            "parents": self.parents,
            "createdTime": self.created,
            "modifiedTime": self.modified or self.created,
            "trashed": self.trashed,
            "webViewLink": f"{base_url}view/{self.id}",
        }
        if self.drive_id:
            item["driveId"] = self.drive_id
        if self.mime != FOLDER_MIME:
            item["size"] = str(len(self.content))
            item["md5Checksum"] = self.md5
        return item


@dataclass
class Principal:
    kind: str  # service_account | user
    account: str
    scope: str  # drive | drive.file


@dataclass
class Logged:
    method: str
    path: str
    query: dict[str, str]
    content_range: str = ""
    length: int = 0
    status: int = 0


@dataclass
class Fault:
    method: str
    path_contains: str
    status: int
    reason: str
    times: int
    keep_bytes: int = 0
    retry_after: str | None = None
    drop: bool = False


@dataclass
class Session:
    kind: str  # create | update
    metadata: dict[str, Any]
    file_id: str | None
    total: int | None
    fields: str | None
    principal: Principal
    data: bytearray = field(default_factory=bytearray)
    result: dict[str, Any] | None = None


class DriveFault(Exception):
    def __init__(self, status: int, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.status, self.reason, self.message = status, reason, message or reason


# --- query and fields parsing --------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:'((?:[^'\\]|\\.)*)'|(!=|=)|([A-Za-z]+))")


def _tokens(query: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(query.rstrip()):
        match = _TOKEN.match(query, pos)
        if not match:
            raise DriveFault(400, "invalid", f"Invalid query: {query[pos:]!r}")
        string, operator, word = match.groups()
        if string is not None:
            tokens.append(("str", re.sub(r"\\(.)", r"\1", string)))
        elif operator:
            tokens.append(("op", operator))
        else:
            tokens.append(("word", word))
        pos = match.end()
    return tokens


def parse_query(query: str) -> list[tuple[str, str, str]]:
    """Terms (field, operator, value) of `t and t and ...`; only the forms the store sends."""
    tokens, terms, i = _tokens(query), [], 0
    while i < len(tokens):
        window = tokens[i : i + 3]
        kinds = [kind for kind, _ in window]
        if kinds == ["str", "word", "word"] and window[1][1] == "in" and window[2][1] == "parents":
            terms.append(("parents", "in", window[0][1]))
        elif (kinds == ["word", "op", "str"] and window[0][1] in ("name", "mimeType")) or (
            kinds == ["word", "op", "word"] and window[0][1] == "trashed"
        ):
            terms.append((window[0][1], window[1][1], window[2][1]))
        else:
            raise DriveFault(400, "invalid", f"Invalid query term near {window!r}")
        i += 3
        if i < len(tokens):
            if tokens[i] != ("word", "and"):
                raise DriveFault(400, "invalid", f"Invalid query: expected 'and' in {query!r}")
            i += 1
    return terms


def _matches(item: FakeFile, terms: list[tuple[str, str, str]]) -> bool:
    for name, operator, value in terms:
        if name == "parents":
            ok = value in item.parents
        elif name == "trashed":
            ok = item.trashed == (value == "true")
        else:
            actual = item.name if name == "name" else item.mime
            ok = actual == value
        if (operator == "!=") == ok:
            return False
    return True


def _parse_fields(spec: str) -> dict[str, Any]:
    """`a,b(c,d)` → {"a": None, "b": {"c": None, "d": None}}."""
    result: dict[str, Any] = {}
    depth, start, parts = 0, 0, []
    for index, char in enumerate(spec):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(spec[start:index])
            start = index + 1
    parts.append(spec[start:])
    for part in (p.strip() for p in parts):
        if "(" in part:
            name, inner = part.split("(", 1)
            result[name.strip()] = _parse_fields(inner[:-1])
        elif part:
            result[part] = None
    return result


_DEFAULT_FILE = {"kind": None, "id": None, "name": None, "mimeType": None}


def _project(resource: dict[str, Any], spec: dict[str, Any] | None) -> dict[str, Any]:
    spec = spec or _DEFAULT_FILE
    if "*" in spec:
        return resource
    return {key: resource[key] for key in spec if key in resource}


# --- the server ----------------------------------------------------------------------------


class FakeDrive:
    def __init__(self, max_page_size: int = 100) -> None:
        self.max_page_size = max_page_size
        self.files: dict[str, FakeFile] = {}
        self.log: list[Logged] = []
        self.token_requests: list[dict[str, Any]] = []
        self.corrupt_md5 = False
        self.refresh_tokens = {"refresh-ok"}
        self._faults: list[Fault] = []
        self._holds: dict[str, threading.Barrier] = {}
        self._sessions: dict[str, Session] = {}
        self._tokens: dict[str, Principal] = {}
        self._clock = 0
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # lifecycle
    def __enter__(self) -> FakeDrive:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    # state set-up
    def _now(self) -> str:
        self._clock += 1
        return (
            (_EPOCH + timedelta(milliseconds=self._clock))
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )

    def _drive_of(self, parent: str) -> str | None:
        item = self.files.get(parent)
        return item.drive_id if item else None

    def add(
        self,
        name: str,
        parent: str | None,
        content: bytes | None = None,
        *,
        app_created: bool = True,
        drive_id: str | None = None,
    ) -> str:
        """A folder (content None) or a file, as if made outside this app unless app_created."""
        with self._lock:
            file_id = "f" + uuid.uuid4().hex[:16]
            self.files[file_id] = FakeFile(
                id=file_id,
                name=name,
                mime=FOLDER_MIME if content is None else "application/zip",
                parents=[parent] if parent else [],
                drive_id=drive_id or (self._drive_of(parent) if parent else None),
                created=self._now(),
                content=content or b"",
                md5=hashlib.md5(content).hexdigest() if content is not None else None,
                app_created=app_created,
            )
            return file_id

    def add_shared_drive(self, name: str) -> str:
        """A shared drive; its id is also the id of its root folder."""
        with self._lock:
            drive_id = "sd" + uuid.uuid4().hex[:14]
            self.files[drive_id] = FakeFile(
                id=drive_id,
                name=name,
                mime=FOLDER_MIME,
                parents=[],
                drive_id=drive_id,
                created=self._now(),
                app_created=False,
            )
            return drive_id

    def fail(
        self,
        method: str,
        path_contains: str,
        status: int,
        reason: str = "backendError",
        *,
        times: int = 1,
        keep_bytes: int = 0,
        retry_after: str | None = None,
        drop: bool = False,
    ) -> None:
        """The next `times` matching requests fail (`drop`: the connection closes unanswered;
        `keep_bytes`: an upload chunk keeps that many bytes before failing)."""
        with self._lock:
            self._faults.append(
                Fault(method, path_contains, status, reason, times, keep_bytes, retry_after, drop)
            )

    def hold(self, kind: str, parties: int = 2) -> None:
        """The first `parties` listings of `kind` ('folders' or 'files') wait for each other."""
        self._holds[kind] = threading.Barrier(parties, timeout=10)

    # inspection
    def children(self, parent: str, *, trashed: bool = False) -> list[FakeFile]:
        with self._lock:
            return [f for f in self.files.values() if parent in f.parents and f.trashed == trashed]

    def requests(self, path_prefix: str = "", method: str | None = None) -> list[Logged]:
        with self._lock:
            return [
                entry
                for entry in self.log
                if entry.path.startswith(path_prefix) and (method is None or entry.method == method)
            ]

    def writes(self) -> list[Logged]:
        """Every request that could change Drive (uploads, creates, updates)."""
        with self._lock:
            return [e for e in self.log if e.method != "GET" and not e.path.startswith("/token")]

    # --- request handling (called from handler threads) ---------------------------------

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method == method and fault.path_contains in path and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def principal(self, headers: Any) -> Principal:
        auth = headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        with self._lock:
            found = self._tokens.get(token)
        if not found:
            raise DriveFault(401, "authError", "Invalid Credentials")
        return found

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.token_requests.append(form)
            grant = form.get("grant_type", "")
            if grant == "refresh_token":
                if form.get("refresh_token") not in self.refresh_tokens:
                    return 400, {
                        "error": "invalid_grant",
                        "error_description": "Token has been expired or revoked.",
                    }
                principal = Principal("user", "oauth-user", _scope(form.get("scope", "")))
            elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
                claims = _jwt_claims(form["assertion"])
                if claims.get("sub"):
                    principal = Principal("user", claims["sub"], _scope(claims.get("scope", "")))
                else:
                    principal = Principal(
                        "service_account", claims["iss"], _scope(claims.get("scope", ""))
                    )
                form = {**form, "claims": claims}
                self.token_requests[-1] = form
            else:
                return 400, {"error": "unsupported_grant_type"}
            token = "tok-" + uuid.uuid4().hex
            self._tokens[token] = principal
            return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    def visible(self, item: FakeFile | None, who: Principal, all_drives: bool) -> bool:
        if item is None:
            return False
        if item.drive_id and not all_drives:
            return False
        return not (who.scope == "drive.file" and not item.app_created)

    def get_visible(self, file_id: str, who: Principal, all_drives: bool) -> FakeFile:
        with self._lock:
            item = self.files.get(file_id)
            if not self.visible(item, who, all_drives):
                raise DriveFault(404, "notFound", f"File not found: {file_id}.")
            return item

    def wait_for_hold(self, terms: list[tuple[str, str, str]]) -> None:
        folders = ("mimeType", "=", FOLDER_MIME) in terms
        kind = "folders" if folders else "files"
        barrier = self._holds.get(kind)
        if barrier is None:
            return
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        self._holds.pop(kind, None)

    def list(self, query: dict[str, str], who: Principal) -> dict[str, Any]:
        all_drives = query.get("supportsAllDrives") == "true"
        include_all = query.get("includeItemsFromAllDrives") == "true"
        if include_all and not all_drives:
            raise DriveFault(
                400,
                "invalid",
                "includeItemsFromAllDrives can only be set when supportsAllDrives is also set",
            )
        corpora = query.get("corpora", "user")
        if corpora == "drive" and not (query.get("driveId") and include_all):
            raise DriveFault(400, "invalid", "corpora=drive needs driveId and includeItems...")
        terms = parse_query(query.get("q", ""))
        self.wait_for_hold(terms)
        with self._lock:
            hits = [
                item
                for item in self.files.values()
                if self.visible(item, who, all_drives and include_all)
                and (
                    (corpora == "user" and not item.drive_id)
                    or (corpora == "drive" and item.drive_id == query.get("driveId"))
                    or corpora == "allDrives"
                )
                and _matches(item, terms)
            ]
            hits.sort(key=lambda f: (f.modified or f.created, f.id), reverse=True)
            size = min(int(query.get("pageSize", 100)), self.max_page_size)
            offset = int(query.get("pageToken", "0") or 0)
            page = hits[offset : offset + size]
            body: dict[str, Any] = {
                "kind": "drive#fileList",
                "incompleteSearch": False,
                "files": [item.resource(self.url) for item in page],
            }
            if offset + size < len(hits):
                body["nextPageToken"] = str(offset + size)
        spec = _parse_fields(query["fields"]) if "fields" in query else None
        if spec is None:
            body["files"] = [_project(item, None) for item in body["files"]]
            return body
        out = {key: body[key] for key in spec if key in body and key != "files"}
        if "files" in spec:
            out["files"] = [_project(item, spec["files"]) for item in body["files"]]
        return out

    def check_parent(self, metadata: dict[str, Any], who: Principal, all_drives: bool) -> str:
        parents = metadata.get("parents") or []
        if len(parents) != 1:
            raise DriveFault(400, "invalid", "exactly one parent is expected here")
        parent = self.get_visible(parents[0], who, all_drives)
        if parent.mime != FOLDER_MIME:
            raise DriveFault(400, "invalid", "parent is not a folder")
        return parent.id

    def check_can_store(self, parent_id: str, who: Principal) -> None:
        with self._lock:
            in_shared_drive = bool(self.files[parent_id].drive_id)
        if who.kind == "service_account" and not in_shared_drive:
            raise DriveFault(
                403,
                "storageQuotaExceeded",
                "The user's Drive storage quota has been exceeded.",
            )

    def create(
        self, metadata: dict[str, Any], content: bytes | None, who: Principal, all_drives: bool
    ) -> FakeFile:
        parent = self.check_parent(metadata, who, all_drives)
        is_folder = metadata.get("mimeType") == FOLDER_MIME
        if not is_folder:
            self.check_can_store(parent, who)
        with self._lock:
            file_id = self.add(metadata["name"], parent, None if is_folder else content or b"")
            item = self.files[file_id]
            if not is_folder:
                self._store(item, content or b"")
            return item

    def _store(self, item: FakeFile, content: bytes) -> None:
        item.content = bytes(content)
        digest = hashlib.md5(content).hexdigest()
        item.md5 = hashlib.md5(content + b"corrupt").hexdigest() if self.corrupt_md5 else digest
        item.modified = self._now()

    def update_content(self, file_id: str, content: bytes, who: Principal, all_drives: bool):
        item = self.get_visible(file_id, who, all_drives)
        with self._lock:
            self._store(item, content)
            return item

    def update_metadata(
        self, file_id: str, body: dict[str, Any], who: Principal, all_drives: bool
    ) -> FakeFile:
        item = self.get_visible(file_id, who, all_drives)
        with self._lock:
            if "trashed" in body:
                item.trashed = bool(body["trashed"])
            if "name" in body:
                item.name = body["name"]
            item.modified = self._now()
            return item

    def start_session(self, session: Session) -> str:
        with self._lock:
            upload_id = uuid.uuid4().hex
            self._sessions[upload_id] = session
            return upload_id

    def session(self, upload_id: str) -> Session:
        with self._lock:
            found = self._sessions.get(upload_id)
        if found is None:
            raise DriveFault(404, "notFound", "upload session not found")
        return found


def _scope(scopes: str) -> str:
    names = {s[len(SCOPE_PREFIX) :] for s in scopes.split() if s.startswith(SCOPE_PREFIX)}
    return "drive" if "drive" in names else "drive.file"


def _jwt_claims(assertion: str) -> dict[str, Any]:
    payload = assertion.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], bytes]:
    boundary = re.search(r'boundary="?([^";]+)"?', content_type).group(1).encode()
    parts = body.split(b"--" + boundary)
    metadata_part, media_part = parts[1], parts[2]
    metadata = json.loads(metadata_part.split(b"\n\n", 1)[1])
    media = media_part.lstrip(b"\r\n").split(b"\n\n", 1)[1]
    return metadata, media[:-1]  # the line break before the closing delimiter


_CONTENT_RANGE = re.compile(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)")


def _handler_for(drive: FakeDrive) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10
        wbufsize = 1 << 16  # headers and body leave in one write (no delayed-ACK stalls)

        def log_message(self, *args: object) -> None:
            pass

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
            data = (
                b""
                if body is None
                else (body if isinstance(body, bytes) else json.dumps(body).encode())
            )
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            if body is not None and not isinstance(body, bytes):
                self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self._entry.status = status

        def _error(self, status: int, reason: str, message: str, headers=None) -> None:
            self._send(
                status,
                {
                    "error": {
                        "code": status,
                        "message": message,
                        "errors": [{"domain": "global", "reason": reason, "message": message}],
                    }
                },
                headers,
            )

        def _dispatch(self, method: str) -> None:
            split = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(split.query).items()}
            body = self._body()
            self._entry = Logged(
                method, split.path, query, self.headers.get("Content-Range", ""), len(body)
            )
            with drive._lock:
                drive.log.append(self._entry)
            try:
                if split.path == "/token":
                    form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
                    self._send(*drive.token(form))
                    return
                fault = drive.take_fault(method, split.path)
                if fault and not fault.keep_bytes:
                    if fault.drop:
                        self.close_connection = True
                        self._entry.status = -1
                        return
                    headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
                    self._error(fault.status, fault.reason, fault.reason, headers)
                    return
                who = drive.principal(self.headers)
                self._route(method, split.path, query, body, who, fault)
            except DriveFault as error:
                self._error(error.status, error.reason, error.message)

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_PATCH(self) -> None:
            self._dispatch("PATCH")

        def do_PUT(self) -> None:
            self._dispatch("PUT")

        def _file_out(self, item: FakeFile, query: dict[str, str]) -> None:
            spec = _parse_fields(query["fields"]) if "fields" in query else None
            self._send(200, _project(item.resource(drive.url), spec))

        def _route(self, method, path, query, body, who, fault) -> None:
            all_drives = query.get("supportsAllDrives") == "true"
            files = re.fullmatch(r"/drive/v3/files(?:/([^/]+))?", path)
            upload = re.fullmatch(r"/upload/drive/v3/files(?:/([^/]+))?", path)
            if files and method == "GET" and files.group(1) is None:
                self._send(200, drive.list(query, who))
            elif files and method == "GET":
                item = drive.get_visible(files.group(1), who, all_drives)
                if query.get("alt") == "media":
                    self._media(item)
                else:
                    self._file_out(item, query)
            elif files and method == "POST" and files.group(1) is None:
                self._file_out(
                    drive.create(json.loads(body or b"{}"), None, who, all_drives), query
                )
            elif files and method == "PATCH":
                metadata = json.loads(body or b"{}")
                self._file_out(
                    drive.update_metadata(files.group(1), metadata, who, all_drives), query
                )
            elif upload and method == "PUT":
                self._chunk(drive.session(query["upload_id"]), body, query, fault)
            elif upload and method in ("POST", "PATCH"):
                self._upload(method, upload.group(1), query, body, who, all_drives)
            else:
                raise DriveFault(404, "notFound", f"no route for {method} {path}")

        def _media(self, item: FakeFile) -> None:
            data = item.content
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
            if not match:
                self._send(200, data, {"Content-Type": "application/zip"})
                return
            start = int(match.group(1))
            end = min(int(match.group(2) or len(data) - 1), len(data) - 1)
            self._send(
                206,
                data[start : end + 1],
                {
                    "Content-Type": "application/zip",
                    "Content-Range": f"bytes {start}-{end}/{len(data)}",
                },
            )

        def _upload(self, method, file_id, query, body, who, all_drives) -> None:
            kind = query.get("uploadType")
            if kind == "multipart":
                metadata, media = _multipart(self.headers["Content-Type"], body)
                if file_id:
                    item = drive.update_content(file_id, media, who, all_drives)
                else:
                    item = drive.create(metadata, media, who, all_drives)
                self._file_out(item, query)
            elif kind == "media":
                if not file_id:
                    raise DriveFault(400, "invalid", "media upload without metadata")
                self._file_out(drive.update_content(file_id, body, who, all_drives), query)
            elif kind == "resumable":
                metadata = json.loads(body) if body else {}
                if file_id:
                    drive.get_visible(file_id, who, all_drives)
                else:
                    drive.check_can_store(drive.check_parent(metadata, who, all_drives), who)
                total = self.headers.get("X-Upload-Content-Length")
                upload_id = drive.start_session(
                    Session(
                        kind="update" if file_id else "create",
                        metadata={**metadata, "all_drives": all_drives},
                        file_id=file_id,
                        total=int(total) if total else None,
                        fields=query.get("fields"),
                        principal=who,
                    )
                )
                location = (
                    f"{drive.url}upload/drive/v3/files?uploadType=resumable&upload_id={upload_id}"
                )
                self._send(200, b"", {"Location": location})
            else:
                raise DriveFault(400, "invalid", f"uploadType {kind!r}")

        def _chunk(self, session: Session, body: bytes, query, fault: Fault | None) -> None:
            match = _CONTENT_RANGE.fullmatch(self.headers.get("Content-Range", ""))
            if not match:
                raise DriveFault(400, "invalid", "Content-Range missing or malformed")
            first, _, total = match.groups()
            if total != "*":
                session.total = int(total)
            if first is not None:
                start = int(first)
                if start > len(session.data):
                    raise DriveFault(400, "invalid", "chunk starts after the received bytes")
                fresh = body[len(session.data) - start :]
                if fault:  # keep part of the chunk, then fail (or drop) as a real server may
                    session.data += fresh[: fault.keep_bytes]
                    if fault.drop:
                        self.close_connection = True
                        self._entry.status = -1
                        return
                    self._error(fault.status, fault.reason, fault.reason)
                    return
                session.data += fresh
            if session.total is not None and len(session.data) >= session.total:
                if session.result is None:
                    session.result = self._finish(session)
                spec = _parse_fields(session.fields) if session.fields else None
                self._send(200, _project(session.result, spec))
                return
            headers = {"Range": f"bytes=0-{len(session.data) - 1}"} if session.data else {}
            self._send(308, b"", headers)

        def _finish(self, session: Session) -> dict[str, Any]:
            all_drives = session.metadata.pop("all_drives")
            if session.kind == "update":
                item = drive.update_content(
                    session.file_id, bytes(session.data), session.principal, all_drives
                )
            else:
                item = drive.create(
                    session.metadata, bytes(session.data), session.principal, all_drives
                )
            return item.resource(drive.url)

    return Handler


# --- credential files that point at the fake's token endpoint -----------------------------

_KEY_PEM: list[str] = []


def _private_key_pem() -> str:
    if not _KEY_PEM:  # one RSA key per test session: generating one takes a while
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _KEY_PEM.append(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
        )
    return _KEY_PEM[0]


def service_account_file(
    directory: Any, drive: FakeDrive, email: str = "lse@proj.iam.gserviceaccount.com"
):
    path = directory / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "proj",
                "private_key_id": "k1",
                "private_key": _private_key_pem(),
                "client_email": email,
                "client_id": "1234",
                "token_uri": f"{drive.url}token",
            }
        )
    )
    return path


def authorized_user_file(directory: Any, drive: FakeDrive, refresh_token: str = "refresh-ok"):
    """A token file as google-auth writes it (no "type"), with an expired access token."""
    path = directory / "token.json"
    path.write_text(
        json.dumps(
            {
                "token": "expired-access-token",
                "refresh_token": refresh_token,
                "client_id": "client.apps.googleusercontent.com",
                "client_secret": "client-secret",
                "token_uri": f"{drive.url}token",
                "expiry": "2020-01-01T00:00:00Z",
            }
        )
    )
    return path


def drive_resource(drive: FakeDrive, credentials: Any, folder_id: str, **overrides: Any):
    """The real GoogleDriveResource pointed at `drive`, with test-sized backoff."""
    from resources.google_drive import GoogleDriveResource

    config: dict[str, Any] = {
        "folder_id": folder_id,
        "credentials_file": str(credentials),
        "root_url": drive.url,
        "backoff_initial_seconds": 0.01,
        "backoff_max_seconds": 0.05,
        "timeout_seconds": 10,
        **overrides,
    }
    return GoogleDriveResource(**config)
