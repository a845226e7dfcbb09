"""Rewards: ``RewardSpec`` + ``score(assessment, spec)``, the papers' presets, guards, and trainer adapters.

Adapters (``trl``, ``verl``, ``openrlhf``, ``server``) are imported from their own modules so that importing
this package stays light.
"""

from realcode.rewards.presets import BENCHMARK_PRESETS, PRESETS, get_preset, load_spec, preset_for
from realcode.rewards.scoring import RewardBreakdown, component_score, score, score_many
from realcode.rewards.spec import (
    DynamicSpec,
    FormatSpec,
    FunctionalSpec,
    GuardSpec,
    MaintainabilitySpec,
    RewardSpec,
    SecuritySpec,
    SpecError,
)

__all__ = [
    "BENCHMARK_PRESETS",
    "PRESETS",
    "DynamicSpec",
    "FormatSpec",
    "FunctionalSpec",
    "GuardSpec",
    "MaintainabilitySpec",
    "RewardBreakdown",
    "RewardSpec",
    "SecuritySpec",
    "SpecError",
    "component_score",
    "get_preset",
    "load_spec",
    "preset_for",
    "score",
    "score_many",
]
