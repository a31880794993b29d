"""Config files are read, never run."""

from __future__ import annotations

import pytest

from plateau_doctor.resolve.files import ConfigError, claimed_params, load_config_file, read_python_config


def test_python_config_literals_and_arithmetic_are_read():
    cfg = read_python_config(
        "batch_size = 12\ngradient_accumulation_steps = 5 * 8\n"
        "max_iters = 600000\nlr_decay_iters = max_iters\nlearning_rate = 6e-4\n"
        "dataset = 'openwebtext'\ncompile = False\n"
    )
    assert cfg.values == {
        "batch_size": 12,
        "gradient_accumulation_steps": 40,
        "max_iters": 600000,
        "lr_decay_iters": 600000,
        "learning_rate": 6e-4,
        "dataset": "openwebtext",
        "compile": False,
    }


def test_python_config_code_is_reported_unknown_not_run(tmp_path):
    marker = tmp_path / "pwned"
    text = (
        f"import os\nos.system('touch {marker}')\n"
        f"device = 'cuda' if __import__('os').system('touch {marker}') else 'cpu'\n"
        "wandb_run_name = 'ft-' + str(time.time())\n"
        f'out_dir = f\'{{__import__("os").system("touch {marker}")}}\'\n'
        "sizes = [x for x in range(10)]\nn_layer = os.cpu_count()\nbatch_size = 8\n"
    )
    cfg = read_python_config(text)
    assert not marker.exists()
    assert cfg.values == {"batch_size": 8}
    assert set(cfg.unknown) == {"device", "wandb_run_name", "out_dir", "sizes", "n_layer"}


def test_huge_power_is_not_evaluated():
    cfg = read_python_config("x = 10 ** 10 ** 10\ny = 2 ** 10\n")
    assert "x" in cfg.unknown and cfg.values["y"] == 1024


def test_syntax_error_names_the_file(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("learning_rate = = 1\n")
    with pytest.raises(ConfigError, match="bad.py: not valid Python"):
        load_config_file(str(bad))


def test_yaml_and_json_configs(tmp_path):
    (tmp_path / "c.yaml").write_text("learning_rate: 0.001\nbatch_size: 8\n")
    (tmp_path / "c.json").write_text('{"learning_rate": 0.001, "batch_size": 8}')
    assert load_config_file(str(tmp_path / "c.yaml")).values == {"learning_rate": 0.001, "batch_size": 8}
    assert load_config_file(str(tmp_path / "c.json")).values == {"learning_rate": 0.001, "batch_size": 8}


def test_wandb_style_yaml_values_are_unwrapped(tmp_path):
    (tmp_path / "config.yaml").write_text("learning_rate:\n  desc: null\n  value: 0.0006\n")
    assert load_config_file(str(tmp_path / "config.yaml")).values == {"learning_rate": 0.0006}


def test_yaml_aliases_are_refused(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text('a: &a ["lol","lol"]\nb: &b [*a,*a]\nc: [*b,*b]\n')
    with pytest.raises(ConfigError, match="aliases are not allowed"):
        load_config_file(str(bomb))


def test_yaml_custom_tags_are_refused(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("x: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config_file(str(evil))


def test_pyproject_run_table_is_read(tmp_path):
    toml = tmp_path / "pyproject.toml"
    toml.write_text("[tool.plateau-doctor.run]\nlearning_rate = 0.001\nmax_iters = 5000\n")
    assert load_config_file(str(toml)).values == {"learning_rate": 0.001, "max_iters": 5000}


def test_claimed_model_size_is_found_in_comments():
    text = "n_embd = 384  # GPT-2 small style, 125M params\n# total tokens 300B\nmax_iters = 5\n"
    assert claimed_params(text) == ["125M"]


def test_missing_and_directory_configs_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config_file(str(tmp_path / "nope.py"))
    with pytest.raises(ConfigError, match="is a directory"):
        load_config_file(str(tmp_path))
