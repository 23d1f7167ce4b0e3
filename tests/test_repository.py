"""A clone is self-contained: no tracked file reads from the developers' reference shelf or their machines."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SELF = Path(__file__).resolve()
# Built from parts so that neither this file nor another check of the same rule matches it.
SHELF = "sha" + "red"
FORBIDDEN = re.compile(
    "|".join(
        [
            re.escape("../" + SHELF),
            re.escape(SHELF + "/specs"),
            r"""["']""" + SHELF + r"""["']""",  # a path built from parts: parents[n] / "<shelf>" / …
            r"(?<![\w.-])/" + "work/",
            r"(?<![\w.-])/" + "home/",
            r"(?<![\w.-])/" + "root/",
        ]
    )
)


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=False, text=True)
    if listed.returncode == 0 and listed.stdout:
        return [REPO / name for name in listed.stdout.split("\0") if name]
    skip = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "state", "build"}
    return [p for p in REPO.rglob("*") if p.is_file() and not skip & set(p.relative_to(REPO).parts)]


def test_no_tracked_file_points_outside_the_repository() -> None:
    offenders = []
    for path in tracked_files():
        if path == SELF or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # compressed specs and other binaries
        for number, line in enumerate(text.splitlines(), 1):
            if FORBIDDEN.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()[:120]}")
    assert not offenders, (
        "files that read from outside the repository (a fresh clone has neither the reference shelf nor a developer's "
        "directories); vendor the file under specs/ and read it with tests/spec_files.py:\n"
        + "\n".join(offenders)
    )


def test_the_rule_catches_what_it_is_for() -> None:
    assert FORBIDDEN.search('Path("/work/x/specs/a.json")')
    assert FORBIDDEN.search(f"parents[4] / '../{SHELF}/specs'")
    assert FORBIDDEN.search(f'parents[4] / "{SHELF}" / "specs"')
    assert not FORBIDDEN.search("/var/lib/ffn-sync/state and /etc/ffn-sync/merchants")
    assert not FORBIDDEN.search("https://example.org/work/items")


def test_every_spec_directory_has_a_source_note() -> None:
    spec_dirs = {p.parent for p in (REPO / "specs").rglob("*") if p.is_file() and p.name != "README.md"}
    top_level = {d for d in spec_dirs if d.parent == REPO / "specs"}
    assert top_level, "specs/ is empty"
    for directory in top_level:
        assert (directory / "SOURCE.txt").is_file(), f"{directory.relative_to(REPO)} has no SOURCE.txt"
