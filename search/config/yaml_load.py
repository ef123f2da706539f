"""Reading YAML that nobody vouches for: a config file read with bounded size, nesting and alias
expansion (a small file must not name a billion values), and ``--set KEY=VALUE`` overrides."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from search.config.errors import ConfigError, clip, key_text, show
from search.config.limits import YAML_MAX_BYTES, YAML_MAX_DEPTH, YAML_MAX_NODES


class _LimitError(yaml.YAMLError):
    """A YAML document over the loader's bounds."""


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Bound the document as the constructor will build it: aliases share a node, so a small file
    can name 10**9 values (billion laughs) or a value that contains itself. Walks each node once
    (iterative, memoized), computing expanded size and depth."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if size[key] > YAML_MAX_NODES:
                raise _LimitError(f"more than {YAML_MAX_NODES} values (aliases expanded)")
            if depth[key] > YAML_MAX_DEPTH:
                raise _LimitError(f"nested deeper than {YAML_MAX_DEPTH} levels (aliases expanded)")
        elif key not in size:
            if key in on_path:
                raise _LimitError("a recursive alias (a value that contains itself)")
            on_path.add(key)
            stack.append((node, True))
            stack.extend((k, False) for k in _children(node) if id(k) not in size)


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with bounded nesting (its composer recurses: lists nested 3,000 deep
    raise RecursionError) and bounded expansion of aliases."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):
        self._depth += 1
        self._nodes += 1  # stop early: PyYAML takes seconds to compose a megabyte of values
        try:
            if self._depth > YAML_MAX_DEPTH:
                raise _LimitError(f"nested deeper than {YAML_MAX_DEPTH} levels")
            if self._nodes > YAML_MAX_NODES:
                raise _LimitError(f"more than {YAML_MAX_NODES} values")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            _check_expansion(node)
        return node


def safe_load(text: str):
    """``yaml.safe_load`` within the bounds above; ConfigError (no key path) for any bad text."""
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader subclass
    except _LimitError as exc:
        raise ConfigError("", f"YAML too large: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError("", f"not valid YAML{where}: {clip(exc.problem or exc.context)}") from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:  # ValueError: an integer of 4,300+ digits
        raise ConfigError("", f"not valid YAML: {clip(exc)}") from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b=c`` -> (['a', 'b'], value parsed as YAML: numbers, booleans, null, lists)."""
    if "=" not in text:
        raise ConfigError(key_text(text), "an override is KEY=VALUE, e.g. search.population=50")
    key, raw = text.split("=", 1)
    parts = [p for p in key.strip().split(".")]
    if not all(parts):
        raise ConfigError(key_text(key), "empty key component")
    try:
        value = safe_load(raw) if raw.strip() else ""
    except ConfigError as exc:
        raise ConfigError(key_text(key), f"cannot parse value {show(raw)}: {exc}") from None
    return parts, value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """A copy of ``data`` with each ``a.b=c`` set (intermediate mappings are created)."""
    data = copy.deepcopy(data or {})
    for text in overrides:
        parts, value = parse_override(text)
        node = data
        for i, p in enumerate(parts[:-1]):
            nxt = node.get(p)
            if nxt is None:
                nxt = node[p] = {}
            if not isinstance(nxt, dict):
                raise ConfigError(".".join(parts[: i + 1]), "is not a section; cannot set a key inside it")
            node = nxt
        node[parts[-1]] = value
    return data


def read_yaml(path: str | Path) -> dict:
    """The mapping in a YAML file, read with bounded size. Messages do not name the file: every
    caller prefixes it (once)."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(YAML_MAX_BYTES + 1)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise ConfigError("", f"cannot read: {clip(getattr(exc, 'strerror', None) or exc)}") from None
    if len(raw) > YAML_MAX_BYTES:
        raise ConfigError("", f"larger than {YAML_MAX_BYTES // 1024} KiB: not a config file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("", f"not UTF-8 text (bad byte at offset {exc.start})") from None
    data = safe_load(text)
    if data is None:
        raise ConfigError("", "empty config file (write at least one key, e.g. name: search)")
    if not isinstance(data, dict):
        raise ConfigError("", "the top level must be a mapping")
    return data
