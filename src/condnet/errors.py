"""The exception types for mistakes a user can make (bad config, missing data, bad checkpoint, ...).

The CLI turns a :class:`CondnetError` (and every subtype) into one line on stderr and exit code 2, with
no traceback. Code that must react to one kind of problem catches its subtype, never message text.
"""


class CondnetError(Exception):
    """A problem the user can fix; the message names the problem and the fix."""


class ConfigError(CondnetError):
    """A config key, value or option that is not valid."""


class DataError(CondnetError):
    """Data files that exist but cannot be used (corrupt, truncated, wrong shape or labels)."""


class DataNotFoundError(DataError):
    """Data files that are not where the user or the defaults say they are."""


class CheckpointError(CondnetError):
    """A checkpoint or expert file that condnet will not or cannot load."""


class RunDirError(CondnetError):
    """A run directory or output file that is in use, already exists, or does not match its run."""


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message (its type's name when it has none), as the reason in a one-line
    error."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class UnsupportedOpsError(CondnetError):
    """A strict MAC count met ops that have no MAC rule and are not ignored by convention."""
