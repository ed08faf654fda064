"""Where the real datasets live and how their tables are read: one convention for the CLIs, the
benchmarks and the tests."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

Settings = TypeVar("Settings")


def data_root() -> Path:
    """``$CONTRASTKIT_DATA`` when set, else ``../shared/data`` beside the checkout.

    Readers never download: this only says where a user's own copy of Cora, STS-b, MovieLens or
    UCI EEG is looked up by default.
    """
    env = os.environ.get("CONTRASTKIT_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"


def read_csv(path: str | os.PathLike[str], where: str, **kwargs: Any) -> pd.DataFrame:
    """``pandas.read_csv(path, **kwargs)``, with a malformed file reported as a ValueError naming it.

    pandas raises its parser's own errors (``ParserError``, ``EmptyDataError``,
    ``UnicodeDecodeError``, a ``ValueError`` for an unparsable column type; all ValueErrors) which
    do not say which file of a dataset was broken; ``where`` names the reader in the message.
    """
    try:
        return pd.read_csv(path, **kwargs)
    except (ValueError, csv.Error) as error:
        raise ValueError(f"{where}: {path} is not a readable table ({type(error).__name__}: {error}).") from error


def read_json(path: str | os.PathLike[str], where: str, *, keys: Sequence[str] = ()) -> Any:
    """The JSON object in ``path`` (a run folder's record), with a damaged file reported as a
    ValueError naming it and ``where``; the decoder's own error does not say which file. ``keys``:
    entries the object must hold."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, IsADirectoryError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ValueError(f"{where}: {path} is not a readable JSON file ({type(error).__name__}: {error}).") from error
    missing = [key for key in keys if not isinstance(value, dict) or key not in value]
    if missing:
        raise ValueError(f"{where}: {path} is not the expected file: it lacks {missing}.")
    return value


def saved_settings(cls: type[Settings], values: Mapping[str, Any], path: str | os.PathLike[str], where: str) -> Settings:
    """``cls(**values)`` for the settings dataclass stored in a saved run, with a field this version
    does not have (a file from another version) or a value ``cls`` refuses (a hand-edited file)
    reported as a ValueError naming ``path`` and ``where``, instead of a bare TypeError."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"saved_settings: {cls!r} is not a dataclass.")
    if not isinstance(values, Mapping):
        raise ValueError(f"{where}: {path} holds {type(values).__name__} settings, not a mapping.")
    unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise ValueError(
            f"{where}: {path} holds settings {unknown} that {cls.__name__} does not have (written by another version?)."
        )
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: {path} holds settings that {cls.__name__} refuses ({error}).") from error
