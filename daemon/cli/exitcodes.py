"""Process exit codes (sysexits.h where one fits). The README's table is generated from these docstrings."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # success
    SYNC_FAILED = 1  # `once`: at least one flow failed
    USAGE_ARGPARSE = 2  # command line not understood (argparse)
    USAGE = 64  # EX_USAGE: valid syntax, but not usable (e.g. unknown sandbox kind)
    DATA = 65  # EX_DATAERR: database newer than this code, or an applied migration was edited
    UNAVAILABLE = (
        69  # EX_UNAVAILABLE: `check` could not reach an API, or the database is unreachable at start
    )
    SOFTWARE = 70  # EX_SOFTWARE: unexpected crash (a bug: the traceback is in the log)
    CONFIG = 78  # EX_CONFIG: configuration invalid (every problem is logged), or the database refused us
    INTERRUPTED = 130  # interrupted from the terminal (Ctrl-C) outside `run`
