"""The HTTP face of the fake Drive: routes, media (multipart, resumable, ranged GET)."""

from __future__ import annotations

import json
import re
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.fake_drive_query import DriveFault, parse_fields, project

if TYPE_CHECKING:
    from tests.fakes.fake_drive import FakeDrive, FakeFile, Fault, Session


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], bytes]:
    boundary = re.search(r'boundary="?([^";]+)"?', content_type).group(1).encode()
    parts = body.split(b"--" + boundary)
    metadata_part, media_part = parts[1], parts[2]
    metadata = json.loads(metadata_part.split(b"\n\n", 1)[1])
    media = media_part.lstrip(b"\r\n").split(b"\n\n", 1)[1]
    return metadata, media[:-1]  # the line break before the closing delimiter


_CONTENT_RANGE = re.compile(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)")


def handler_for(drive: FakeDrive) -> type[BaseHTTPRequestHandler]:
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
            self._entry = drive.record(
                method,
                split.path,
                query,
                self.headers.get("Content-Range", ""),
                len(body),
                self.headers.get("Range", ""),
            )
            try:
                if split.path == "/token":
                    form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
                    self._send(*drive.token(form))
                    return
                fault = drive.take_fault(method, split.path)
                if fault and fault.stall_seconds:
                    time.sleep(fault.stall_seconds)
                    fault = None
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

        def do_DELETE(self) -> None:
            self._dispatch("DELETE")

        def _file_out(self, item: FakeFile, query: dict[str, str]) -> None:
            spec = parse_fields(query["fields"]) if "fields" in query else None
            self._send(200, project(item.resource(drive.url), spec))

        def _route(self, method, path, query, body, who, fault) -> None:
            all_drives = query.get("supportsAllDrives") == "true"
            files = re.fullmatch(r"/drive/v3/files(?:/([^/]+))?", path)
            upload = re.fullmatch(r"/upload/drive/v3/files(?:/([^/]+))?", path)
            revisions = re.fullmatch(r"/drive/v3/files/([^/]+)/revisions(?:/([^/]+))?", path)
            if revisions and method == "GET" and revisions.group(2) is None:
                self._send(200, drive.list_revisions(revisions.group(1), who))
            elif revisions and method == "DELETE" and revisions.group(2):
                drive.delete_revision(revisions.group(1), revisions.group(2), who)
                self._send(204)
            elif files and method == "GET" and files.group(1) is None:
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
                    kind="update" if file_id else "create",
                    metadata={**metadata, "all_drives": all_drives},
                    file_id=file_id,
                    total=int(total) if total else None,
                    fields=query.get("fields"),
                    principal=who,
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
                spec = parse_fields(session.fields) if session.fields else None
                self._send(200, project(session.result, spec))
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
