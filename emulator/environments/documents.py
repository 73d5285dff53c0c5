"""Reading a declaration file: YAML, JSON or TOML, what kind of document it is, and the line each
field was written on, so that an error names both the line and the field."""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from typing import Any

import yaml

Path = tuple[str | int, ...]

# CloudFormation's short-form intrinsic functions and the long form each stands for.
SHORT_TAGS = {"Ref": "Ref", "GetAtt": "Fn::GetAtt", "Sub": "Fn::Sub", "Join": "Fn::Join",
              "Select": "Fn::Select", "Split": "Fn::Split", "If": "Fn::If", "Equals": "Fn::Equals",
              "Not": "Fn::Not", "And": "Fn::And", "Or": "Fn::Or", "FindInMap": "Fn::FindInMap",
              "Base64": "Fn::Base64", "GetAZs": "Fn::GetAZs", "ImportValue": "Fn::ImportValue",
              "Condition": "Condition"}


class DeclarationError(ValueError):
    """A declaration that cannot be applied: the message names the file, line and field."""


def field_name(path: Path) -> str:
    """user_pools[0].users[2].password"""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclasses.dataclass
class Document:
    """A parsed file: its data, its name for messages, and the line of each field path."""

    name: str
    data: Any
    lines: dict[Path, int] = dataclasses.field(default_factory=dict)
    # For a declaration made from another file (Amplify outputs): a path of the declaration ->
    # the path in the file it came from, which errors name instead.
    aliases: dict[Path, Path] = dataclasses.field(default_factory=dict)
    # JSON's parser knows no lines: the text is read again for them only when an error needs one.
    text: str | None = None

    def source_path(self, path: Path) -> Path:
        for size in range(len(path), -1, -1):
            if path[:size] in self.aliases:
                return self.aliases[path[:size]]
        return path

    def line(self, path: Path) -> int | None:
        if self.text is not None:
            self.lines.update(_lines_of(self.text))
            self.text = None
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    def error(self, path: Path, message: str) -> DeclarationError:
        path = self.source_path(path)
        line = self.line(path)
        where = f"{self.name}:{line}" if line else self.name
        field = field_name(path)
        return DeclarationError(f"{where}: {field}: {message}" if field else f"{where}: {message}")


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml where there is one: 100k users
    """Safe YAML that also reads CloudFormation's short tags (!Ref, !GetAtt, !Sub ...)."""


def _short_tag(loader: _Loader, suffix: str, node: yaml.Node) -> dict:
    name = SHORT_TAGS.get(suffix)
    if name is None:
        raise yaml.constructor.ConstructorError(None, None, f"unknown tag !{suffix}", node.start_mark)
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_Loader.add_multi_constructor("!", _short_tag)


def _node_lines(node: yaml.Node, path: Path, out: dict[Path, int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                _node_lines(value, (*path, key.value), out)
                out[(*path, key.value)] = key.start_mark.line + 1  # the key's line, not its value's
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _node_lines(item, (*path, index), out)


def _load_yaml(text: str, *, construct: bool = True) -> tuple[Any, dict[Path, int]]:
    """(the data, the line of each field path), parsed once."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if construct and root is not None else None
    finally:
        loader.dispose()
    lines: dict[Path, int] = {}
    if root is not None:
        _node_lines(root, (), lines)
    return data, lines


def _lines_of(text: str) -> dict[Path, int]:
    try:
        return _load_yaml(text, construct=False)[1]
    except yaml.YAMLError:
        return {}


def parse(text: str, name: str) -> Document:
    """The document in `text` (JSON, TOML or YAML, told apart by the name's extension and
    else by content). A syntax error names the line."""
    ext = os.path.splitext(name)[1].lower()
    if ext == ".toml":
        try:
            return Document(name, tomllib.loads(text))
        except tomllib.TOMLDecodeError as err:
            raise DeclarationError(f"{name}: not valid TOML: {err}") from None
    if ext == ".json" or (ext not in (".yaml", ".yml") and text.lstrip().startswith(("{", "["))):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise DeclarationError(f"{name}:{err.lineno}: not valid JSON: {err.msg} (column {err.colno})") from None
        return Document(name, data, text=text)
    try:
        data, lines = _load_yaml(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f":{mark.line + 1}" if mark else ""
        problem = ", ".join(str(p) for p in (err.context, err.problem) if p)
        raise DeclarationError(f"{name}{line}: not valid YAML: {problem}") from None
    except yaml.YAMLError as err:
        raise DeclarationError(f"{name}: not valid YAML: {err}") from None
    return Document(name, data, lines)


def read(path: str) -> Document:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as err:
        raise DeclarationError(f"{path}: cannot read: {err.strerror}") from None
    except UnicodeDecodeError:
        raise DeclarationError(f"{path}: not UTF-8 text") from None
    return parse(text, path)




def kind_of(doc: Document) -> str:
    """What the document declares: a seed file, Amplify outputs, a CloudFormation template, or an
    exported state."""
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error((), "expected a mapping at the top of the file")
    if data.get("format") == "cognito-emulator-state":
        return "state"
    if "Resources" in data or "AWSTemplateFormatVersion" in data:
        return "cloudformation"
    if isinstance(data.get("auth"), dict) and "user_pool_id" in data["auth"]:
        return "amplify"
    return "seed"
