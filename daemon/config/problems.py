"""What is wrong with a configuration: one ``ConfigProblem`` per mistake, all raised together."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from daemon.errors import ConfigError
from daemon.secrets import redact

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One mistake: the file, the dotted key inside it (``""`` for the file as a whole) and what to do."""

    file: Path
    key: str
    message: str
    line: int | None = None  # set for TOML syntax errors
    column: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line is not None else str(self.file)
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        return redact(text)


class ConfigErrors(ConfigError):
    """Every problem found in a configuration; ``str()`` gives one line per problem."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems: list[ConfigProblem] = list(problems)
        super().__init__(self._render())

    def _render(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)

    def __str__(self) -> str:
        return self._render()

    def __repr__(self) -> str:
        return f"ConfigErrors({len(self.problems)} problem(s))"


def dotted_key(loc: Iterable[str | int]) -> str:
    """``("channels", 1, "credentials", "access_token")`` -> ``channels[1].credentials.access_token``.

    Keys that are not bare TOML keys (shipping titles with spaces or dots) are quoted as TOML quotes them.
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        name = part if _BARE_KEY.match(part) else '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'
        out += f".{name}" if out else name
    return out
