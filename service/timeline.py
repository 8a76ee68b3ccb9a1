"""A case's timeline: every change records who did what, when (全链条见人见事).

Events are written with the change they describe, by the case's file
(`CaseFile.record`); what the service does by itself is recorded as `SYSTEM`.
"""

SYSTEM = "system"
