"""A Typer root group whose sub-commands are imported only when they run.

Each entry names the module and attribute that hold a sub-command (a ``typer.Typer`` group
or a command function) and its one-line help. ``boomerang --help`` and shell completion list
the entries without importing anything; running ``boomerang health compute`` imports
``boomerang.health.cli`` alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import typer
import typer.core
from typer._click import Command, Context, HelpFormatter
from typer._click.shell_completion import CompletionItem


@dataclass(frozen=True)
class LazyCommand:
    """A sub-command by import path, ``"package.module:attribute"``, and its one-line help."""

    target: str
    help: str
    options: Mapping[str, Any] = field(default_factory=dict)
    """For a command function: what ``Typer.command`` takes (``no_args_is_help`` ...)."""
    children: Mapping[str, LazyCommand] = field(default_factory=dict)
    """For a group: sub-commands that live elsewhere (a flow's command in a domain's group)."""

    def load(self, name: str) -> Command:
        module_name, _, attribute = self.target.partition(":")
        obj = getattr(importlib.import_module(module_name), attribute)
        if isinstance(obj, typer.Typer):
            group = typer.main.get_group(obj)  # a group even with one command
            for child, entry in self.children.items():
                group.add_command(entry.load(child), child)
            command: Command = group
        else:
            single = typer.Typer(rich_markup_mode=None, pretty_exceptions_enable=False)
            single.command(name, **self.options)(obj)
            command = typer.main.get_command(single)
        command.name = name
        return command

    def placeholder(self, name: str) -> Command:
        """What a listing shows: the name and the help, nothing imported."""
        return typer.core.TyperCommand(
            name=name, help=self.help, short_help=self.help, rich_markup_mode=None
        )


class LazyGroup(typer.core.TyperGroup):
    """A TyperGroup that also holds :class:`LazyCommand` entries (``lazy``)."""

    lazy: Mapping[str, LazyCommand] = {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._listing = 0

    def list_commands(self, ctx: Context) -> list[str]:
        return [*self.commands, *(name for name in self.lazy if name not in self.commands)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        command = self.commands.get(cmd_name)
        if command is not None:
            return command
        entry = self.lazy.get(cmd_name)
        if entry is None:
            return None
        if self._listing:
            return entry.placeholder(cmd_name)
        command = entry.load(cmd_name)
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        self._listing += 1
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing -= 1

    def shell_complete(self, ctx: Context, incomplete: str) -> list[CompletionItem]:
        self._listing += 1
        try:
            return super().shell_complete(ctx, incomplete)
        finally:
            self._listing -= 1
