"""The production WSGI server: gunicorn workers, each with its own app and scheduler."""

import logging
from pathlib import Path

from gunicorn.app.base import BaseApplication

from service.app import create_app
from service.scheduler import start_scheduler, stop_scheduler
from service.settings import Settings

log = logging.getLogger(__name__)
SHARED_MEMORY = Path("/dev/shm")


class ServiceServer(BaseApplication):
    """Gunicorn configured from our settings instead of its command line."""

    def __init__(self, settings: Settings, bind: str, workers: int, threads: int):
        self.settings = settings
        self.options = {
            "bind": bind,
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 60,
            "graceful_timeout": 10,
            "accesslog": "-",
            # Several services may run on one machine (tests do): no shared socket.
            "control_socket_disable": True,
            "post_worker_init": self._start_jobs,
            "worker_exit": self._stop_jobs,
        }
        if SHARED_MEMORY.is_dir():
            # Each worker touches its heartbeat file at every turn of its loop: on a
            # disk-backed temp folder that is a metadata write per request.
            self.options["worker_tmp_dir"] = str(SHARED_MEMORY)
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return create_app(self.settings)

    @staticmethod
    def _start_jobs(worker):
        # Every worker sweeps; claims on case rows keep each due timer to one of them.
        start_scheduler(worker.wsgi)

    @staticmethod
    def _stop_jobs(server, worker):
        # Also called in the arbiter when it reaps a worker: it holds no app there.
        app = getattr(worker, "wsgi", None)
        if hasattr(app, "extensions"):
            stop_scheduler(app)
