"""The one base class for "the user's input is wrong": a bad setting, unusable data, a refused archive, a
checkpoint that cannot be found or trusted. Its message is one line a person can act on, so the CLI prints it as
`error: ...` (exit 2), the UI shows it with st.error and a training job reports it without a traceback. It is a
ValueError, so code that already caught ValueError keeps working. Torch-free: importing it costs nothing."""
from __future__ import annotations


class UserError(ValueError):
    """The input (a setting, a file, a folder, a repo id) is wrong; the message says what and what to do."""
