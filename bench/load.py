"""Threads on loopback that call the service, bounded in count and in time."""

import http.client
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from json import dumps, loads
from urllib.parse import urlencode, urlsplit


class Refused(Exception):
    """The service answered a benchmark call with an unexpected status."""


@dataclass
class Load:
    """What a load achieved: calls done, calls refused, seconds, answers."""

    done: int = 0
    failed: int = 0
    seconds: float = 0.0
    first_failure: str | None = None
    answers: list = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def add(self, part: "Load") -> None:
        """Count in a part of the same load, run after the others."""
        self.done += part.done
        self.failed += part.failed
        self.seconds += part.seconds
        self.first_failure = self.first_failure or part.first_failure
        self.answers += part.answers


class Client:
    """HTTP calls as one user of the running service.

    The standard library's client, so that the figures are the service's cost
    more than the client's: a multipart body is still built for each call, with
    a boundary of its own, as a phone would send it. The connection is kept alive,
    or with `keep_alive=False` opened for each call, as a reverse proxy in front
    of the service does by default: a gunicorn worker accepts every connection it
    is offered, so a few kept-alive ones may all land on one worker of several.
    """

    def __init__(self, base_url: str, token: str, keep_alive: bool = True):
        address = urlsplit(base_url)
        self.host, self.port = address.hostname, address.port
        self.headers = {"Authorization": f"Bearer {token}"}
        if not keep_alive:
            self.headers["Connection"] = "close"
        self.keep_alive = keep_alive
        self.connection = self._connect()

    def get(self, path: str, params: dict | None = None) -> "Response":
        if params:
            path += "?" + urlencode(params, doseq=True)
        return self._call("GET", path, None, {})

    def post(self, path: str, json=None, data=None, files=None) -> "Response":
        if files is not None:
            body, kind = multipart(data or {}, files)
        else:
            body, kind = dumps(json).encode(), "application/json"
        return self._call("POST", path, body, {"Content-Type": kind})

    def _call(self, method, path, body, headers) -> "Response":
        headers = {**self.headers, **headers}
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                answer = self.connection.getresponse()
                response = Response(answer.status, answer.read())
                if not self.keep_alive:
                    self.connection.close()
                return response
            except (ConnectionError, http.client.RemoteDisconnected):
                # The server closed the idle connection; the call never reached it.
                self.connection.close()
                self.connection = self._connect()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=60)


@dataclass(frozen=True)
class Response:
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        return loads(self.content)


def multipart(fields: dict, files: list) -> tuple[bytes, str]:
    """A multipart/form-data body of text fields and (name, (file, bytes, type))."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
            f"\r\n\r\n{value}\r\n".encode()
        )
    for name, (filename, content, kind) in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {kind}\r\n\r\n'
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def expect(response: Response, status: int) -> dict:
    if response.status_code != status:
        raise Refused(f"{response.status_code} {response.text[:300]}")
    return response.json()


def run_load(
    call: Callable[[Client, int], object],
    clients: list[Client],
    count: int,
    seconds: float,
) -> Load:
    """Run `call(client, n)` for n below `count` on one thread per client.

    Each thread takes the next n until `count` is reached or `seconds` have
    passed; what a call returns is kept, in no particular order.
    """
    load = Load()
    numbers = itertools.count()
    lock = threading.Lock()
    started = time.perf_counter()
    deadline = started + seconds

    def work(client):
        while time.perf_counter() < deadline:
            with lock:
                n = next(numbers)
            if n >= count:
                return
            try:
                answer = call(client, n)
            except (Refused, OSError, http.client.HTTPException) as error:
                with lock:
                    load.failed += 1
                    load.first_failure = load.first_failure or str(error)
                continue
            with lock:
                load.done += 1
                load.answers.append(answer)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load.seconds = time.perf_counter() - started
    return load
