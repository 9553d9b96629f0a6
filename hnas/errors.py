"""The one exception type a user sees: the CLI prints its message as a single line."""


class HnasError(Exception):
    """A user-facing error: bad input, missing file, mismatched checkpoint."""


class ArchError(HnasError, ValueError):
    """An architecture string that does not belong to its search space."""
