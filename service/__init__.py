"""The HTTP service, its scheduler jobs and its command line, around the engine."""
