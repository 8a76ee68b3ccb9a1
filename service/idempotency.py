"""Telling a retry from a reuse of an Idempotency-Key.

A retry sends the same request again and gets the first answer. A request that
carries the same key with anything else in it is a client's mistake: answering it
with the first answer would drop what it sent without a word, so it is refused.
What a request carried is kept as a digest of its fields and photos.
"""

import hashlib
import json
from dataclasses import fields

from service.photos import UploadedPhoto
from workflows.errors import Invalid

KEY_HEADER = "Idempotency-Key"


def digest(sent: dict, photos: list[UploadedPhoto]) -> str:
    """The SHA-256 of the fields sent (in any order) and of each photo, in order."""
    content = hashlib.sha256()
    content.update(json.dumps(sent, sort_keys=True, default=str).encode())
    for photo in photos:
        content.update(hashlib.sha256(photo.content).digest())
    return content.hexdigest()


def report_digest(report) -> str:
    sent = {f.name: getattr(report, f.name) for f in fields(report)}
    del sent["photos"]
    return digest(sent, report.photos)


def completion_digest(task_id: int, completion) -> str:
    sent = {"task": task_id, "decision": completion.decision, **completion.fields}
    return digest(sent, completion.photos)


def refuse_reuse(kept: str | None, sent: str | None, what: str) -> None:
    """Refuse a request whose key answered another one; None is a key that
    stands for more than one request (a page's) or was kept before digests."""
    if kept is not None and sent is not None and kept != sent:
        raise Invalid(
            f"this Idempotency-Key was used for another {what}",
            errors={KEY_HEADER: [f"already used for another {what}: use a new key"]},
        )
