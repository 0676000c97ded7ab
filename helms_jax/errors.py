"""The base class of the errors a user can cause and fix: bad config values, a damaged dataset or
checkpoint, a workdir another run holds, a run that diverged.

Their messages say what went wrong and what to do in one line, so the `helms-*` entry points
print `error: <message>` and exit with status 1 instead of a traceback (`--traceback` shows it).
Each error also derives from the builtin it refines (ValueError, FileNotFoundError, ...), so
code that catches those keeps working.
"""


class HelmsError(Exception):
  """An expected failure whose message alone tells the user what went wrong and what to do."""
