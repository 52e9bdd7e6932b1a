"""The root of leadpipe's error tree; each package hangs its own errors under it.

    ImporterError                       exit_code: what the CLI exits with
    ├── UsageError (2)                  the user asked for something that cannot be (schemas)
    │   ├── MappingSpecError            a preset or mapping file is malformed (schemas.presets)
    │   ├── MappingError                a mapping does not fit the file (transforms)
    │   └── ConfigError                 flags or leadpipe.toml are wrong (flows)
    └── CannotProceedError (3)          the run cannot go on (schemas)
        └── ReadError                   the source cannot be read (transforms)

Messages are one line, meant for the analyst, and never carry secrets.
"""

from __future__ import annotations

__all__ = ["CannotProceedError", "ImporterError", "UsageError"]


class ImporterError(Exception):
    """Anything leadpipe reports to its user as an error rather than a row outcome."""

    exit_code: int = 3


class UsageError(ImporterError):
    """The request is wrong: a flag, a config value, a mapping. Exit status 2."""

    exit_code = 2


class CannotProceedError(ImporterError):
    """The request is fine but the run cannot go on: unreadable file, target down. Exit 3."""

    exit_code = 3
