"""Reading policy files (include/policy/*.yaml): strict YAML, validated models, errors that
name the file, the key, the rule and the reason.

A file that does not validate raises PolicyError, for example
`retention.yaml: rules[5] (sessions).period: 'P99999Y' is longer than P100Y`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from governance.errors import PermanentError


class PolicyError(PermanentError, ValueError):
    """A policy file is invalid, or names tables or columns the database does not have."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{self.path}: " + "; ".join(problems))


M = TypeVar("M", bound=BaseModel)

# Items of these lists are named in error messages by this key, as well as by position.
_ITEM_NAMES = ("code", "name")  # a recipient's code, a rule's name


@dataclass(frozen=True)
class Loaded(Generic[M]):
    """A validated policy, with the file it came from and that file's SHA-256 (its version)."""

    model: M
    path: Path
    sha256: str


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a mapping with the same key twice (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        keys = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in keys:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            keys.add(key)
        return super().construct_mapping(node, deep=deep)


def _key_path(loc: tuple[str | int, ...], data: Any) -> str:
    """`rules[5] (sessions).period`: the key path, naming list items by their name or code."""
    path, node = "", data
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            name = next((node[key] for key in _ITEM_NAMES if isinstance(node, dict) and key in node), None)
            if isinstance(name, str):
                path += f" ({name})"
        else:
            path += f".{part}" if path else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return path or "(top level)"


def _problems(error: ValidationError, data: Any) -> list[str]:
    problems = []
    for item in error.errors(include_url=False):
        # Drop pydantic's internal steps (function-after[...], literal names) from the key path.
        loc = tuple(part for part in item["loc"] if isinstance(part, int) or not re.search(r"[\[\](]", part))
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{_key_path(loc, data)}: {message}")
    return problems


def load_model(path: Path | str, model: type[M]) -> Loaded[M]:
    """Read and validate a policy file; any problem raises PolicyError naming file and key."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(path, [f"cannot read: {exc.strerror}"]) from exc
    try:
        data = yaml.load(raw, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise PolicyError(path, [f"{where}invalid YAML: {getattr(exc, 'problem', None) or exc}"]) from exc
    if not isinstance(data, dict):
        raise PolicyError(path, ["(top level): expected a mapping of keys"])
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(path, _problems(exc, data)) from exc
    return Loaded(model=parsed, path=path, sha256=hashlib.sha256(raw).hexdigest())
