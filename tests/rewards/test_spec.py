"""RewardSpec validation: bad weights are clear errors naming the field; unknown presets list the known."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from realcode.rewards import PRESETS, RewardSpec, SecuritySpec, get_preset, load_spec


def _spec(**kw: object) -> RewardSpec:
    return RewardSpec.model_validate({"security": {"kind": "binary"}, **kw})


@pytest.mark.parametrize(
    ("weights", "needle"),
    [
        ({"functional": -1.0, "security": 1.0}, "weights['functional'] must not be negative"),
        ({"functional": 0.0, "security": 0.0}, "weights are all zero"),
        ({"functional": math.nan}, "weights['functional'] must be a finite number"),
        ({"functional": 1.0, "maintainability": 1.0}, "no 'maintainability' component"),
        ({}, "at least one component"),
    ],
)
def test_bad_weights_name_the_field(weights: dict[str, float], needle: str) -> None:
    with pytest.raises(ValidationError) as err:
        _spec(weights=weights)
    assert needle in str(err.value)


def test_bad_component_constants_name_the_field() -> None:
    with pytest.raises(ValidationError, match=r"security.per_finding must not be negative"):
        SecuritySpec(kind="linear", per_finding=-0.3)
    with pytest.raises(ValidationError, match=r"functional.group_weights are all zero"):
        RewardSpec.model_validate({"functional": {"kind": "groups", "group_weights": {"capability": 0}}})
    with pytest.raises(ValidationError, match=r"quality_alpha must be between 0 and 1"):
        _spec(weights={"functional": 1, "security": 1}, quality_alpha=1.5)


def test_unknown_preset_lists_known() -> None:
    with pytest.raises(ValueError) as err:
        get_preset("real-sql")
    for name in PRESETS:
        assert name in str(err.value)


def test_spec_from_yaml_file_and_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = get_preset("realcode-default")
    path = tmp_path / "spec.json"
    path.write_text(spec.model_dump_json())
    assert load_spec(str(path)) == spec
    bad = tmp_path / "bad.yaml"
    bad.write_text("weights: {functional: -2}\n")
    with pytest.raises(ValueError, match=r"bad.yaml: invalid reward spec.*must not be negative"):
        load_spec(str(bad))
