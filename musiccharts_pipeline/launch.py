"""Long-running entry points start with SIGINT and SIGTERM at their default handling.

A process started in the background by a script without job control (``setsid make dev &``, a
supervisor, CI) inherits SIGINT *ignored*. Python then installs no KeyboardInterrupt handler,
and Dagster's interrupt setup copies SIGINT's handling onto SIGTERM, so the webserver and the
daemon ignore SIGTERM too and wait forever for a shutdown. A shell cannot undo an ignore it
inherited (POSIX), so the entry points do it themselves: ``restore_default_signals()`` in a
Python process, and ``python -m musiccharts_pipeline.launch CMD...`` before ``exec`` of another
program (a default disposition survives ``exec``; Python's own handler does not).
"""

from __future__ import annotations

import os
import signal
import sys


def restore_default_signals() -> None:
    """SIGINT raises KeyboardInterrupt and SIGTERM terminates, whatever was inherited."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m musiccharts_pipeline.launch COMMAND [ARG...]", file=sys.stderr)
        return 2
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    os.execvp(argv[0], argv)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main())
