"""Partner fakes on loopback: real HTTP servers that record what they are sent."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.conftest import free_port


class Receiver:
    """A webhook receiver that fails its first `failures` requests with a 500."""

    def __init__(self, failures=0):
        self.failures = failures
        self.received = []
        self.port = free_port()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.failures > 0:
                    receiver.failures -= 1
                    self.send_response(500)
                else:
                    receiver.received.append(body)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/notify"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
