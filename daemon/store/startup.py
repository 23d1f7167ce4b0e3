"""Why the database could not be opened, as one line an operator can act on, and never a secret.

A database that cannot be reached may come back (exit 69: systemd restarts the daemon); a refused
login, a missing database or a DSN that cannot be parsed will not fix itself (exit 78: systemd stops).
Nothing here ever repeats a DSN or a driver message that might quote it: only the parts we parsed
ourselves (user, host, port, database) are shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

import asyncpg

EXIT_UNAVAILABLE = 69  # sysexits EX_UNAVAILABLE (daemon.cli.exitcodes.ExitCode.UNAVAILABLE)
EXIT_CONFIG = 78  # sysexits EX_CONFIG (daemon.cli.exitcodes.ExitCode.CONFIG)
_SCHEMES = ("postgresql://", "postgres://")
LIBPQ_KEYS = (
    "host|hostaddr|port|dbname|user|password|passfile|options|application_name|connect_timeout|sslmode"
    "|sslcert|sslkey|sslrootcert|sslpassword|target_session_attrs|krbsrvname|gsslib|service|server_settings"
)
# The query starts at the first '?' followed by a parameter we know: an unencoded '?' inside a password
# is not one, and an '@' inside a query password must not be taken for the end of the user info.
_QUERY_START = re.compile(rf"\?(?=(?:{LIBPQ_KEYS})=)", re.IGNORECASE)


class DatabaseStartupError(Exception):
    """The database could not be opened at start-up; ``exit_code`` tells the CLI how to exit."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True, slots=True)
class DsnTarget:
    user: str
    host: str
    port: str
    database: str

    def __str__(self) -> str:
        return f"{self.host}:{self.port}/{self.database}" if self.port else f"{self.host}/{self.database}"


def dsn_target(dsn: str) -> DsnTarget | None:
    """User, host, port and database of a URI DSN, or None when it is not one we can read safely.

    The user info ends at the LAST '@' before the host: a password may contain '@', ':', '/' or '?'
    when its writer forgot to percent-encode it, and none of it may leak into the other parts.
    """
    scheme = next((s for s in _SCHEMES if dsn.lower().startswith(s)), None)
    if scheme is None:
        return None
    authority, query = split_query(dsn[len(scheme) :])
    userinfo, at, location = authority.rpartition("@")
    if not at:
        userinfo, location = "", authority
    user = unquote(userinfo.split(":", 1)[0]) if userinfo else ""
    netloc, _, path = location.partition("/")
    params = parse_qs(query)
    host, port = netloc, ""
    if netloc.startswith("["):  # IPv6 literal
        host, _, tail = netloc.partition("]")
        host += "]"
        port = tail.removeprefix(":")
    elif ":" in netloc:
        host, _, port = netloc.rpartition(":")
    host = unquote(host) or (params.get("host") or ["localhost"])[0]
    port = port or (params.get("port") or ["5432"])[0]
    if port and not port.isdigit():
        return None
    database = unquote(path) or (params.get("dbname") or [user or "postgres"])[0]
    return DsnTarget(user=user or (params.get("user") or [""])[0], host=host, port=port, database=database)


def split_query(rest: str) -> tuple[str, str]:
    """The DSN after its scheme split into user info + location, and the query string (without '?')."""
    match = _QUERY_START.search(rest)
    if match is None:
        return rest, ""
    return rest[: match.start()], rest[match.end() :]


def classify(exc: BaseException, dsn: str) -> DatabaseStartupError | None:
    """The operator's error for a connection failure at start-up, or None when it is none of ours."""
    target = dsn_target(dsn)
    if target is None:
        return DatabaseStartupError(
            "database.dsn is malformed: expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE "
            "(percent-encode special characters in the password); the value is not shown",
            EXIT_CONFIG,
        )
    where = str(target)
    if isinstance(exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError):
        return DatabaseStartupError(
            f"database at {where} refused the login of user {target.user!r} (wrong password or no access); "
            "fix database.dsn",
            EXIT_CONFIG,
        )
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return DatabaseStartupError(
            f"database {target.database!r} does not exist on {target.host}:{target.port}; "
            "create it (see README) or fix database.dsn",
            EXIT_CONFIG,
        )
    if isinstance(
        exc, OSError | TimeoutError | asyncpg.CannotConnectNowError | asyncpg.TooManyConnectionsError
    ):
        reason = type(exc).__name__ if not isinstance(exc, OSError) or exc.strerror is None else exc.strerror
        return DatabaseStartupError(
            f"database unreachable at {target.host}:{target.port} ({reason}); retrying is up to systemd",
            EXIT_UNAVAILABLE,
        )
    if isinstance(exc, ValueError | asyncpg.ClientConfigurationError | asyncpg.InterfaceError):
        return DatabaseStartupError(
            f"database.dsn for {where} is malformed ({type(exc).__name__}); the value is not shown",
            EXIT_CONFIG,
        )
    return None
