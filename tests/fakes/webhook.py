"""A local Slack-style incoming webhook: records every JSON message it accepts.

`delay_seconds` makes it slow (it answers after that long); `drip_seconds` makes it answer
one body byte at a time with that pause between bytes (each read is quick, the whole
answer takes long: what a per-read timeout alone does not stop)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
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


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.handler())
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/secret"
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
