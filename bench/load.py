"""Threads on loopback that call the service, bounded in count and in time."""

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests


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


class Client:
    """HTTP calls as one user of the running service."""

    def __init__(self, base_url: str, token: str):
        self.base_url = base_url
        self.http = requests.Session()
        # Loopback needs no proxy or .netrc lookup, which would cost every call.
        self.http.trust_env = False
        self.http.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.base_url + path, timeout=60, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.http.post(self.base_url + path, timeout=60, **kwargs)


def expect(response: requests.Response, status: int) -> dict:
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
            except (Refused, requests.RequestException) as error:
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
