from __future__ import annotations

from pathlib import Path

import pytest

from realcode.training.config import (
    ConfigError,
    TrainConfig,
    apply_overrides,
    load_preset,
    preset_names,
    read_config,
    save_config,
)


def test_every_preset_loads_and_real_recipes_match_the_paper() -> None:
    names = preset_names()
    assert {"real-seccodeplt-0.5b", "real-safesql-7b", "real-apps-3b", "securecoderl", "realcode-grpo"} <= set(names)
    for name in names:
        cfg = load_preset(name)
        assert cfg.preset == name
    real = load_preset("real-safesql-0.5b")
    assert (real.algorithm, real.gamma, real.lam, real.kl_coef, real.entropy_coef) == ("ppo", 1.0, 1.0, 0.001, 0.001)
    assert (real.actor_lr, real.critic_lr, real.train_batch_size) == (1e-6, 1e-5, 256)
    assert (real.max_prompt_length, real.max_response_length, real.alpha) == (1024, 1024, 0.1)
    assert load_preset("real-apps-7b").alpha == 0.5
    assert load_preset("securecoderl").kl_coef == 0.1 and load_preset("securecoderl").lora


def test_unknown_preset_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"known: .*real-apps-0\.5b"):
        load_preset("real-mbpp")


def test_overrides_are_typed_and_name_the_key() -> None:
    cfg = apply_overrides(load_preset("realcode-grpo"), ["actor_lr=3e-6", "lora=true", "alpha=0.7"])
    assert cfg.actor_lr == 3e-6 and cfg.lora and cfg.alpha == 0.7
    with pytest.raises(ConfigError, match="actor_lr"):
        apply_overrides(cfg, ["actor_lr=fast"])
    with pytest.raises(ConfigError, match="alpha"):
        apply_overrides(cfg, ["alpha=1.5"])
    with pytest.raises(ConfigError, match="unknown setting 'learning_rate'"):
        apply_overrides(cfg, ["learning_rate=1"])
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides(cfg, ["lora"])


def test_config_is_saved_with_the_run(tmp_path: Path) -> None:
    cfg = apply_overrides(TrainConfig(), ["seed=7"])
    save_config(cfg, tmp_path)
    assert read_config(tmp_path) == cfg
    with pytest.raises(ConfigError, match="not a realcode training run"):
        read_config(tmp_path / "elsewhere")


def test_yaml_file_preset_with_a_bad_key(tmp_path: Path) -> None:
    f = tmp_path / "mine.yaml"
    f.write_text("algorithm: ppo\nbatchsize: 3\n")
    with pytest.raises(ConfigError, match=r"mine\.yaml: unknown setting 'batchsize'"):
        load_preset(str(f))
