"""Log lines as key=value pairs about cases, readable by people and by log tools."""

import logging

STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class CaseFormatter(logging.Formatter):
    """Appends the fields given in `extra` (case, task, level...) to the line."""

    def format(self, record):
        line = super().format(record)
        fields = {
            key: value
            for key, value in vars(record).items()
            if key not in STANDARD and value is not None
        }
        if fields:
            line += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        return line


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    if any(isinstance(h.formatter, CaseFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(
        CaseFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level)
    # The engine logs every task state change at INFO; that is debugging detail here.
    for noisy in ("spiff", "spiff.task", "spiff.workflow"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
