"""``load_config``: files -> TOML -> validated models -> ``AppConfig``, or every problem at once."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loguru import logger
from pydantic import ValidationError

from daemon.config.app import AppConfig
from daemon.config.checks import (
    channel_problems,
    ineffective_keys,
    merchant_id_problems,
    process_section_problems,
    webhook_problems,
)
from daemon.config.merchant import MerchantConfig, MerchantFile
from daemon.config.problems import ConfigErrors, ConfigProblem, dotted_key
from daemon.config.process import PROCESS_SECTIONS
from daemon.config.references import ResolveContext, find_placeholders
from daemon.config.types import Section
from daemon.config.validation import problems_from

_TOML_POSITION = re.compile(r"^(?P<message>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$", re.DOTALL)


def load_config(path: Path, *, environ: Mapping[str, str] | None = None) -> AppConfig:
    """Load a merchant file, or every ``*.toml`` in a directory (sorted); raise ``ConfigErrors`` listing
    every problem found. ``environ`` (default ``os.environ``) resolves ``env:NAME`` secrets."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    files = _discover(Path(path))
    problems: list[ConfigProblem] = []
    raws: list[tuple[Path, Mapping[str, Any]]] = []
    parsed: list[tuple[Path, MerchantFile]] = []
    sections: list[tuple[Path, dict[str, Section]]] = []
    for file in files:
        raw = _read_toml(file, problems)
        if raw is None:
            continue
        context = ResolveContext(environ=env, base_dir=file.absolute().parent)
        merchant_file, file_problems = _validate(raw, file, context)
        problems.extend(file_problems)
        raws.append((file, raw))
        sections.append((file, _process_sections(raw, merchant_file, context)))
        if merchant_file is not None:
            parsed.append((file, merchant_file))
    problems.extend(merchant_id_problems(raws))
    problems.extend(process_section_problems(sections))
    problems.extend(webhook_problems(parsed, sections))
    if problems:
        raise ConfigErrors(problems)
    for file, contents in raws:
        for warning in ineffective_keys(contents, file):
            logger.warning("config: {}", warning)
    config = _assemble(parsed)
    logger.debug("config: {} merchant(s) from {}", len(config.merchants), ", ".join(map(str, files)))
    return config


def _discover(path: Path) -> list[Path]:
    if path.is_dir():
        # Hidden files are editor swap/lock files, never merchants.
        files = sorted(p for p in path.glob("*.toml") if p.is_file() and not p.name.startswith("."))
        if not files:
            raise ConfigErrors([ConfigProblem(path, "", "directory contains no *.toml files")])
        return files
    if not path.exists():
        raise ConfigErrors([ConfigProblem(path, "", "no such file or directory")])
    return [path]


def _read_toml(file: Path, problems: list[ConfigProblem]) -> dict[str, Any] | None:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        problems.append(ConfigProblem(file, "", f"cannot read: {exc.strerror or type(exc).__name__}"))
    except UnicodeDecodeError as exc:
        problems.append(ConfigProblem(file, "", f"not UTF-8 text (byte {exc.start})"))
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.match(str(exc))
        if match:
            line, column = int(match["line"]), int(match["column"])
            message = f"TOML syntax error at line {line}, column {column}: {match['message']}"
            problems.append(ConfigProblem(file, "", message, line=line, column=column))
        else:
            problems.append(ConfigProblem(file, "", f"TOML syntax error: {exc}"))
    return None


def _validate(
    raw: Mapping[str, Any], file: Path, context: ResolveContext
) -> tuple[MerchantFile | None, list[ConfigProblem]]:
    merchant_file = None
    try:
        merchant_file = MerchantFile.model_validate(raw, context=context)
        problems: list[ConfigProblem] = []
    except ValidationError as exc:
        problems = problems_from(exc, file, MerchantFile)
    problems.extend(channel_problems(raw, file))
    already = {problem.key for problem in problems}
    for loc in find_placeholders(raw):
        key = dotted_key(loc)
        if key not in already:
            problems.append(ConfigProblem(file, key, "placeholder value: replace it with the real value"))
    return merchant_file, problems


def _process_sections(
    raw: Mapping[str, Any], merchant_file: MerchantFile | None, context: ResolveContext
) -> dict[str, Section]:
    found: dict[str, Section] = {}
    for name, model in PROCESS_SECTIONS.items():
        if merchant_file is not None:
            section = getattr(merchant_file, name)
        else:
            # The file has mistakes elsewhere; still compare its valid sections with the other files.
            try:
                section = model.model_validate(raw[name], context=context) if name in raw else None
            except ValidationError:
                section = None  # already reported by the full validation
        if section is not None:
            found[name] = section
    return found


def _assemble(parsed: list[tuple[Path, MerchantFile]]) -> AppConfig:
    process: dict[str, Any] = {}
    for _, merchant_file in parsed:
        for name in PROCESS_SECTIONS:
            section = getattr(merchant_file, name)
            if section is not None:
                process.setdefault(name, section)
    merchants = tuple(MerchantConfig.from_file(merchant_file, file) for file, merchant_file in parsed)
    return AppConfig(merchants=merchants, sources=tuple(file for file, _ in parsed), **process)
