"""The Flask class of the emulator's pages (the main app and the console's)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from werkzeug.routing import Rule


class LazyBuildRule(Rule):
    """A rule whose URL builder is made at its first `url_for`: werkzeug compiles every rule's
    builders to Python code when the rule is added, 20-35 ms of every start for URLs the
    emulator's pages rarely build."""

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        compile_builder = super()._compile_builder
        built: list[Callable[..., tuple[str, str]]] = []

        def build(rule: Rule, *args, **kwargs) -> tuple[str, str]:
            if not built:  # two threads may both compile it: the results are the same
                built.append(compile_builder(append_unknown))
            return built[0](rule, *args, **kwargs)

        return build


class FlaskApp(Flask):
    url_rule_class = LazyBuildRule
