"""A local Slack-style incoming webhook: records every JSON message it accepts (a body not
sent as application/json is refused with 400, as Slack does).

`delay_seconds` makes it slow (it answers after that long); `drip_seconds` makes it answer
one body byte at a time with that pause between bytes (each read is quick, the whole
answer takes long: what a per-read timeout alone does not stop). `tls=True` serves https
with a self-signed certificate for 127.0.0.1, written to `receiver.ca_file`: a client trusts
it through SSL_CERT_FILE, as it would a company's own certificate authority."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg

from resources.notifier import WebhookNotifier


class WebhookReceiver:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.refused = 0
        self.status = 200  # set to 503 to play a webhook that is down
        self.delay_seconds = 0.0
        self.drip_seconds = 0.0
        self.url = ""
        self.ca_file = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Type") != "application/json":
                    # As Slack does: a body sent as a form is not a message.
                    receiver.refused += 1
                    self.send_response(400)
                    self.end_headers()
                    self.wfile.write(b"invalid_payload")
                    return
                if receiver.delay_seconds:
                    time.sleep(receiver.delay_seconds)
                if receiver.status != 200:
                    receiver.refused += 1
                    self.send_response(receiver.status)
                    self.end_headers()
                    return
                if receiver.drip_seconds:
                    self._drip()
                    return
                receiver.messages.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def _drip(self) -> None:
                answer = b"ok" * 500
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                try:
                    for index in range(len(answer)):
                        self.wfile.write(answer[index : index + 1])
                        self.wfile.flush()
                        time.sleep(receiver.drip_seconds)
                except OSError:
                    pass  # the client gave up

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key (cryptography: google-auth's)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@contextmanager
def webhook_receiver(*, tls: bool = False) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.handler())
    server.daemon_threads = True
    with tempfile.TemporaryDirectory(prefix="lse-webhook-") as folder:
        scheme = "http"
        if tls:
            cert_file, key_file = _self_signed(Path(folder))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert_file, key_file)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            scheme, receiver.ca_file = "https", str(cert_file)
        port = server.server_address[1]
        receiver.url = f"{scheme}://127.0.0.1:{port}/services/T000/B000/secret"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield receiver
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def tick(sensor, instance, receiver: WebhookReceiver, cursor):
    """One evaluation of a sensor that notifies `receiver` (no retries: one attempt)."""
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"notifier": WebhookNotifier(webhook_url=receiver.url, attempts=1)},
    )
    return sensor.evaluate_tick(context)
