"""The one exception type for mistakes a user can make (bad config, missing data, bad checkpoint).

The CLI turns a :class:`CondnetError` into one line on stderr and exit code 2, with no traceback.
"""


class CondnetError(Exception):
    """A problem the user can fix; the message names the problem and the fix."""
