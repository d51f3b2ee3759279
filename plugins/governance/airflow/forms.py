"""Trigger-form fields that behave in Airflow 3's form as a user expects, and their values read back.

Airflow's form marks as required every field whose type does not admit null, and a field left empty
blocks the Trigger button. It also clamps a number outside an inclusive `minimum` or `maximum` to that
bound when the field loses focus, without a word: a batch size of 0 became 1. So:

- a field with a default admits null: the form shows it as optional, and an empty field means the
  default (`value_or_default`);
- a number's bounds sit in an `allOf`, which the form does not read, so a bad number stays as typed
  and the trigger refuses it in one line: "Invalid input for param batch_size: 0 is less than the
  minimum of 1". The REST API and `airflow dags trigger` check the same schema.

Light on purpose: DAG files import it, and Airflow parses them constantly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EMPTY = (None, "")


def optional(default: Any, kind: str, *, title: str, description: str, minimum: int | None = None,
             maximum: int | None = None, **schema: Any) -> Any:
    """A form field of JSON type `kind` with a default, shown as optional; empty means the default."""
    from airflow.sdk import Param

    bounds = {name: bound for name, bound in (("minimum", minimum), ("maximum", maximum)) if bound is not None}
    if bounds:
        schema["allOf"] = [bounds]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [None, *schema["enum"]]  # an enum must admit the empty value the type admits
    return Param(default, type=[kind, "null"], title=title, description=description, **schema)


def value_or_default(params: Mapping[str, Any], name: str, default: Any) -> Any:
    """A form field's value, or `default` where the field was left empty (or not sent at all)."""
    value = params.get(name)
    return default if value in EMPTY else value
