"""One command-line flag per field of a settings dataclass, so a domain's CLI never lags its config.

:func:`add_config_arguments` reads the field annotations: ``Literal[...]`` becomes ``choices``,
``bool`` a ``--flag / --no-flag`` pair, ``tuple[T, T]`` exactly two values and ``tuple[T, ...]``
one or more, ``T | None`` a value or ``none`` (for a scalar ``T``: an optional tuple takes its
values only, so a non-None default of one cannot be set back to None from the command line; no
library config has such a field). Defaults come from the dataclass and each flag's help
from the first sentence of the field's docstring (the string literal under it, as Sphinx reads
it); :func:`config_from_args` builds the dataclass back, so its own validation
(``__post_init__``) reports bad values.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import re
import textwrap
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar, get_args, get_origin

T = TypeVar("T")


def _without_none(annotation: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``X | None`` / ``Optional[X]``, else ``(annotation, False)``."""
    if get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(get_args(annotation)) == 2:
            return args[0], True
    return annotation, False


def _scalar(annotation: Any, optional: bool) -> tuple[Callable[[str], Any], tuple[Any, ...] | None]:
    """``(parse, choices)`` for a scalar annotation (``int``, ``float``, ``str`` or a ``Literal``)."""
    if get_origin(annotation) is Literal:
        values = get_args(annotation)
        kind = type(values[0])
        if any(type(v) is not kind for v in values):
            raise TypeError(f"add_config_arguments: mixed-type Literal {annotation} is not supported.")
        return _maybe_none(kind, optional), values + ((None,) if optional else ())
    if annotation in (int, float, str):
        return _maybe_none(annotation, optional), None
    raise TypeError(f"add_config_arguments: no command-line form for the annotation {annotation!r}.")


def _maybe_none(parse: Callable[[str], Any], optional: bool) -> Callable[[str], Any]:
    if not optional:
        return parse

    def parse_or_none(text: str) -> Any:
        return None if text.lower() == "none" else parse(text)

    parse_or_none.__name__ = getattr(parse, "__name__", "value")  # argparse names it in errors
    return parse_or_none


# A sentence ends at ". " but not at an ellipsis or "e.g. " / "i.e. ".
_FULL_STOP = re.compile(r"(?<!\.)(?<!e\.g)(?<!i\.e)\.(?!\.)\s")


def field_docs(config: type[Any]) -> dict[str, str]:
    """First sentence of each field's docstring in the class body of ``config`` (``{}`` when the
    source is not available, e.g. in a frozen executable)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(config)))
    except (OSError, TypeError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for node, after in zip(body, body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            text = re.sub(r":\w+:`([^`]*)`", r"\1", " ".join(after.value.value.split())).replace("``", "")
            docs[node.target.id] = re.sub(r"(?<!\.)\.$", "", _FULL_STOP.split(text, maxsplit=1)[0].strip())
    return docs


def add_config_arguments(
    parser: argparse.ArgumentParser,
    config: type[Any],
    *,
    skip: Iterable[str] = (),
    defaults: dict[str, Any] | None = None,
    aliases: dict[str, str] | None = None,
) -> None:
    """Add ``--field-name`` for every field of the dataclass ``config`` except those in ``skip``.

    ``defaults`` overrides the dataclass defaults for this command (e.g. ``progress=True``);
    ``aliases`` gives a field a second, shorter flag (e.g. ``{"max_steps": "--steps"}``), so a
    command keeps the flags its users already type.

    Raises:
        TypeError: ``config`` is not a dataclass, or a field's annotation has no command-line form.
        ValueError: ``skip``, ``defaults`` or ``aliases`` names a field that ``config`` does not have.
    """
    if not (isinstance(config, type) and dataclasses.is_dataclass(config)):
        raise TypeError(f"add_config_arguments: expected a dataclass type; got {config!r}.")
    hints = typing.get_type_hints(config)
    docs = field_docs(config)
    overrides = defaults or {}
    extra_flags = aliases or {}
    skipped = set(skip)
    names = {field.name for field in dataclasses.fields(config)}
    unknown = sorted((skipped | set(overrides) | set(extra_flags)) - names)
    if unknown:
        raise ValueError(f"add_config_arguments: {config.__name__} has no fields {unknown}.")
    for field in dataclasses.fields(config):
        if field.name in skipped or not field.init:
            continue
        flags = ["--" + field.name.replace("_", "-")] + ([extra_flags[field.name]] if field.name in extra_flags else [])
        default = overrides.get(field.name, field.default)
        factory = field.default_factory
        if default is dataclasses.MISSING and callable(factory):
            default = factory()
        if default is dataclasses.MISSING:
            raise TypeError(
                f"add_config_arguments: field {field.name!r} has no default; give it one in defaults."
            )
        annotation, optional = _without_none(hints[field.name])
        help_default = (
            (docs[field.name] + "; " if field.name in docs else "") + f"default: {default!r}"
        ).replace("%", "%%")
        if annotation is bool:
            parser.add_argument(
                *flags, action=argparse.BooleanOptionalAction, default=default, help=help_default, dest=field.name
            )
        elif get_origin(annotation) is tuple:
            items = get_args(annotation)
            repeated = len(items) == 2 and items[1] is Ellipsis
            parse, choices = _scalar(items[0], False)
            nargs: int | str = "+" if repeated else len(items)
            parser.add_argument(
                *flags,
                dest=field.name,
                type=parse,
                nargs=nargs,
                choices=choices,
                default=default,
                metavar=field.name.upper(),
                help=help_default,
            )
        else:
            parse, choices = _scalar(annotation, optional)
            parser.add_argument(*flags, dest=field.name, type=parse, choices=choices, default=default, help=help_default)


def config_from_args(config: type[T], args: argparse.Namespace, **overrides: Any) -> T:
    """The dataclass ``config`` from the parsed ``args`` (fields missing from ``args`` keep their
    defaults; ``overrides`` win). Lists from ``nargs`` become tuples."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(config):  # type: ignore[arg-type]
        if field.init and hasattr(args, field.name):
            value = getattr(args, field.name)
            values[field.name] = tuple(value) if isinstance(value, list) else value
    values.update(overrides)
    return config(**values)
