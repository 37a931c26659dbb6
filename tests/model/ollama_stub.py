"""A stand-in for Ollama on 127.0.0.1, for the tests of the opt-in judge (the model's and the
Instruct lab's): `stub_ollama` serves on a free port and yields it; each POST takes the next
of `StubOllama.replies` as the model's text and is kept in `StubOllama.requests`."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest


class StubOllama(BaseHTTPRequestHandler):
    replies: list = []
    requests: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append((self.path, body))
        text = type(self).replies.pop(0)
        if self.path == "/api/chat":
            payload = {"model": body["model"], "message": {"role": "assistant", "content": text},
                       "done": True}
        else:
            payload = {"model": body["model"], "response": text, "done": True}
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub_ollama():
    server = HTTPServer(("127.0.0.1", 0), StubOllama)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    StubOllama.requests = []
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
