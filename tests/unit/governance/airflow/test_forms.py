"""Trigger-form fields (governance.airflow.forms): optional where they have a default, empty meaning the
default, and a bad number refused in one line that names the field and the bound, never clamped."""

from __future__ import annotations

import pytest
from airflow.sdk import Param
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import ParamValidationError

from governance.airflow.forms import optional, value_or_default
from governance.airflow.runs import dry_run


def batch_size() -> Param:
    return optional(25_000, "integer", minimum=1, maximum=100_000, title="Batch size", description="Rows.")


def test_a_field_with_a_default_admits_empty_and_keeps_its_bounds_where_the_form_does_not_clamp():
    schema = batch_size().schema
    assert schema["type"] == ["integer", "null"]
    assert not {"minimum", "maximum"} & set(schema)
    assert schema["allOf"] == [{"minimum": 1, "maximum": 100_000}]


@pytest.mark.parametrize(("value", "message"), [(0, "0 is less than the minimum of 1"),
                                                (100_001, "100001 is greater than the maximum of 100000")])
def test_a_number_out_of_bounds_is_refused_on_its_first_line_naming_field_and_bound(value, message):
    assert ParamsDict({"batch_size": batch_size()}).validate() == {"batch_size": 25_000}  # the default passes
    with pytest.raises(ParamValidationError) as refused:
        ParamsDict({"batch_size": batch_size()}).update({"batch_size": value})
    first_line = str(refused.value).splitlines()[0]
    assert first_line == f"Invalid input for param batch_size: {message}"


def test_empty_is_valid_and_means_the_default():
    params = ParamsDict({"batch_size": batch_size()})
    params.update({"batch_size": None})
    assert params.validate() == {"batch_size": None}
    assert value_or_default({"batch_size": None}, "batch_size", 25_000) == 25_000
    assert value_or_default({"reason": ""}, "reason", None) is None
    assert value_or_default({}, "batch_size", 25_000) == 25_000
    assert value_or_default({"batch_size": 7}, "batch_size", 25_000) == 7


def test_an_enum_admits_the_empty_value():
    category = optional(None, "string", enum=["csam", "violence"], title="Category", description="One.")
    assert category.schema["enum"] == [None, "csam", "violence"]


@pytest.mark.parametrize("kind", ["manual", "scheduled", "asset_triggered"])
def test_an_empty_dry_run_is_no_choice_so_it_never_purges(kind, monkeypatch):
    monkeypatch.delenv("GOVERNANCE_SCHEDULED_DELETES", raising=False)
    assert dry_run(kind, {"dry_run": None}, default=True) is True
