"""The one exception type a user sees: the CLI prints its message as a single line."""


class HnasError(Exception):
    """A user-facing error: bad input, missing file, mismatched checkpoint."""


class ArchError(HnasError, ValueError):
    """An architecture string that does not belong to its search space."""


def say(message):
    """One `hnas: ...` line on stderr, written in a single call so that lines from a data loader's
    worker processes and the main process never interleave mid-line (print writes the newline apart)."""
    import sys
    sys.stderr.write(f"hnas: {message}\n")
    sys.stderr.flush()
