"""One command-line flag per settings field: annotations decide the flag's form, docstrings its help."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Literal

import pytest

from contrastkit.core.config_args import add_config_arguments, config_from_args, field_docs


@dataclass(frozen=True)
class Settings:
    steps: int = 10
    """Optimizer steps. Not the epochs."""
    lr: float = 1e-3
    name: str = "run"
    """A name, e.g. the dataset's ("cora", "pubmed" ...). Used for folders."""
    mode: Literal["soft", "hard"] = "hard"
    """Membership: ``"soft"`` or ``"hard"`` (see :func:`pamc_loss`)."""
    fast: bool = False
    probabilities: tuple[float, float] = (0.2, 0.4)
    widths: tuple[int, ...] = (64, 64)
    clusters: int | None = None
    activation: Literal["relu", "elu"] | None = None
    hidden: list[int] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        if self.steps <= 0:
            raise ValueError(f"Settings: steps must be > 0; got {self.steps}.")


def parse(argv: list[str], **kwargs: object) -> Settings:
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, Settings, **kwargs)  # type: ignore[arg-type]
    return config_from_args(Settings, parser.parse_args(argv))


def test_no_flags_give_the_dataclass_defaults() -> None:
    assert parse([]) == Settings()


def test_every_annotation_kind_parses() -> None:
    argv = "--steps 3 --lr 0.5 --name x --mode soft --fast --probabilities 0.1 0.9 --widths 8 16 32 --clusters 7 --activation elu"
    assert parse(argv.split()) == Settings(
        steps=3,
        lr=0.5,
        name="x",
        mode="soft",
        fast=True,
        probabilities=(0.1, 0.9),
        widths=(8, 16, 32),
        clusters=7,
        activation="elu",
    )
    assert parse(["--clusters", "none", "--activation", "None", "--no-fast"]) == Settings(
        clusters=None, activation=None, fast=False
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--mode", "medium"],
        ["--steps", "2.5"],
        ["--probabilities", "0.1"],
        ["--activation", "gelu"],
        ["--clusters", "many"],
    ],
)
def test_bad_values_are_argparse_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse(argv)
    assert "error: argument --" in capsys.readouterr().err


def test_the_dataclass_validates_what_argparse_cannot() -> None:
    with pytest.raises(ValueError, match="steps must be > 0"):
        parse(["--steps", "0"])


def test_skip_and_command_defaults() -> None:
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, Settings, skip=("name",), defaults={"steps": 99})
    args = parser.parse_args([])
    assert not hasattr(args, "name") and args.steps == 99
    assert config_from_args(Settings, args, lr=0.1) == Settings(steps=99, lr=0.1)


def test_an_alias_is_a_second_flag_for_the_same_field() -> None:
    aliases = {"steps": "--iters", "widths": "-w", "fast": "--quick"}
    assert parse(["--iters", "5", "-w", "1", "2", "--quick"], aliases=aliases) == Settings(steps=5, widths=(1, 2), fast=True)
    assert parse(["--steps", "6", "--no-quick"], aliases=aliases) == Settings(steps=6, fast=False)


def test_names_of_fields_that_do_not_exist_are_errors() -> None:
    for kwargs in ({"skip": ("nme",)}, {"defaults": {"step": 1}}, {"aliases": {"epochs": "--e"}}):
        with pytest.raises(ValueError, match="Settings has no fields"):
            add_config_arguments(argparse.ArgumentParser(), Settings, **kwargs)  # type: ignore[arg-type]


def test_help_is_the_first_sentence_of_the_field_docstring_without_markup() -> None:
    assert field_docs(Settings) == {
        "steps": "Optimizer steps",
        "name": 'A name, e.g. the dataset\'s ("cora", "pubmed" ...)',
        "mode": 'Membership: "soft" or "hard" (see pamc_loss)',
    }
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, Settings)
    text = " ".join(parser.format_help().split())
    assert "--steps STEPS Optimizer steps; default: 10" in text
    assert "--mode {soft,hard}" in text


def test_unsupported_inputs_are_type_errors() -> None:
    @dataclass
    class Nested:
        table: dict[str, int] = field(default_factory=dict)

    @dataclass
    class NoDefault:
        steps: int

    parser = argparse.ArgumentParser()
    with pytest.raises(TypeError, match="no command-line form"):
        add_config_arguments(parser, Nested)
    with pytest.raises(TypeError, match="has no default"):
        add_config_arguments(parser, NoDefault)
    with pytest.raises(TypeError, match="expected a dataclass"):
        add_config_arguments(parser, int)
