"""Turn a pydantic `ValidationError` into one `ConfigError` that points into the YAML.

pydantic reports a location inside the data (`("market", "traffic", "cpm")`); the
origins recorded while reading and merging give the file and line of that location.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from ds1ray.config.errors import ConfigError
from ds1ray.config.merge import Origins, origin_at
from ds1ray.config.yamlfile import KeyPath

M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: Any, *, origins: Origins, default_file: Path, prefix: KeyPath = ()) -> M:
    """`model.model_validate(data)`, or a `ConfigError` at the first problem's file and line.

    `prefix` is the key path of `data` inside its file (e.g. `("agents", "ceo", "strategy")`).
    """
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise config_error(error, model=model, origins=origins, default_file=default_file, prefix=prefix) from None


def config_error(
    error: ValidationError,
    *,
    model: type[BaseModel],
    origins: Origins,
    default_file: Path,
    prefix: KeyPath = (),
) -> ConfigError:
    """The first of pydantic's errors as a `ConfigError`; the count of the others is appended."""
    first = error.errors(include_url=False, include_input=False)[0]
    loc = _data_path(first["loc"])
    key_path = (*prefix, *loc)
    origin = origin_at(origins, key_path, default_file)
    problem = describe(first, model)
    if error.error_count() > 1:
        problem += f" (and {error.error_count() - 1} more problem(s) after fixing this one)"
    return ConfigError(problem, file=origin.file, key_path=key_path, line=origin.line)


def describe(error: Any, model: type[BaseModel]) -> str:
    """pydantic's message, worded for a YAML file rather than a Python call."""
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = model_at(model, _data_path(error["loc"])[:-1])
        if parent is None:
            return "unknown key (not allowed here)"
        return "unknown key; allowed here: " + ", ".join(parent.model_fields)
    if kind == "missing":
        return "required key is missing"
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


def _data_path(loc: tuple[Any, ...]) -> KeyPath:
    # pydantic adds validator names to the location of some errors (e.g. `function-after[...]`
    # or a union member's type); they are not keys of the data.
    return tuple(part for part in loc if isinstance(part, int) or "[" not in str(part))


def model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that validates the data at `loc` inside `model`, if it is one."""
    annotation = _annotation_at(model, loc)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def field_at(model: type[BaseModel], loc: tuple[Any, ...]) -> FieldInfo | None:
    """The field definition (type, bounds) at `loc` inside `model`, following nested models,
    dicts and lists; None when `loc` does not end on a field."""
    if not loc:
        return None
    parent = model_at(model, loc[:-1])
    return parent.model_fields.get(str(loc[-1])) if parent is not None else None


def _annotation_at(model: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    annotation: Any = model
    for part in loc:
        if typing.get_origin(annotation) in (list, dict):
            annotation = typing.get_args(annotation)[-1]  # `part` is an index or a key
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(str(part))
            if info is None:
                return None
            annotation = info.annotation
        else:
            return None
    return annotation
