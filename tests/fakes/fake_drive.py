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
barriers force concurrent requests to interleave (`hold`), `before_create` lets a racing
run's file land just before a create (deterministically), `list_new_files=False` keeps
created files out of listings (a lagging index), and every request is logged.
This module holds the state and rules; fake_drive_http the routes and media
protocols, fake_drive_query the query syntax, fake_drive_auth credential files (all in tests/fakes).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import Any

from tests.fakes.fake_drive_http import handler_for
from tests.fakes.fake_drive_query import DriveFault, parse_fields, parse_query, project

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
    # Earlier and current contents (revision id, bytes), oldest first, as Drive keeps them.
    revisions: list[tuple[str, bytes]] = field(default_factory=list)

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
    range: str = ""  # the Range header of a ranged download


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
    skip: int = 0  # matching requests let through before the first failure
    stall_seconds: float = 0.0  # answer normally, but only after this long (a slow Drive)


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
        # Called with (name, parent id) inside each file create, before the file is stored.
        self.before_create: Callable[[str, str], None] | None = None
        # False: files created through the API stay out of listings (Drive's listing can lag
        # behind a create); they are still there to get, update and download.
        self.list_new_files = True
        self._unlisted: set[str] = set()
        self._sessions: dict[str, Session] = {}
        self._tokens: dict[str, Principal] = {}
        self._clock = 0
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(self))
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
        skip: int = 0,
        stall_seconds: float = 0.0,
    ) -> None:
        """The next `times` matching requests fail (`drop`: the connection closes unanswered;
        `keep_bytes`: an upload chunk keeps that many bytes before failing; `skip`: that many
        matching requests succeed first; `stall_seconds`: they succeed, after that long)."""
        with self._lock:
            self._faults.append(
                Fault(
                    method,
                    path_contains,
                    status,
                    reason,
                    times,
                    keep_bytes,
                    retry_after,
                    drop,
                    skip,
                    stall_seconds,
                )
            )

    def hold(self, kind: str, parties: int = 2) -> None:
        """The first `parties` listings of `kind` ('folders' or 'files') wait for each other."""
        self._holds[kind] = threading.Barrier(parties, timeout=30)

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
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
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
                and item.id not in self._unlisted
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
        spec = parse_fields(query["fields"]) if "fields" in query else None
        if spec is None:
            body["files"] = [project(item, None) for item in body["files"]]
            return body
        out = {key: body[key] for key in spec if key in body and key != "files"}
        if "files" in spec:
            out["files"] = [project(item, spec["files"]) for item in body["files"]]
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
            if not is_folder and self.before_create:
                self.before_create(metadata["name"], parent)
            file_id = self.add(metadata["name"], parent, None if is_folder else content or b"")
            item = self.files[file_id]
            if not is_folder and not self.list_new_files:
                self._unlisted.add(file_id)
            if not is_folder:
                self._store(item, content or b"")
            return item

    def _store(self, item: FakeFile, content: bytes) -> None:
        item.content = bytes(content)
        digest = hashlib.md5(content).hexdigest()
        item.md5 = hashlib.md5(content + b"corrupt").hexdigest() if self.corrupt_md5 else digest
        item.modified = self._now()
        item.revisions.append((uuid.uuid4().hex[:16], bytes(content)))

    def list_revisions(self, file_id: str, who: Principal) -> dict[str, Any]:
        item = self.get_visible(file_id, who, True)
        return {
            "kind": "drive#revisionList",
            "revisions": [{"id": rid, "modifiedTime": item.modified} for rid, _ in item.revisions],
        }

    def delete_revision(self, file_id: str, revision_id: str, who: Principal) -> None:
        item = self.get_visible(file_id, who, True)
        with self._lock:
            ids = [rid for rid, _ in item.revisions]
            if revision_id not in ids:
                raise DriveFault(404, "notFound", f"Revision not found: {revision_id}")
            if revision_id == ids[-1]:
                raise DriveFault(400, "cannotDeleteOnlyRevision", "The head revision stays")
            item.revisions = [(rid, data) for rid, data in item.revisions if rid != revision_id]

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

    def record(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        content_range: str,
        length: int,
        range_header: str = "",
    ) -> Logged:
        entry = Logged(method, path, query, content_range, length, range=range_header)
        with self._lock:
            self.log.append(entry)
        return entry

    def start_session(self, **fields: Any) -> str:
        with self._lock:
            upload_id = uuid.uuid4().hex
            self._sessions[upload_id] = Session(**fields)
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
