import pytest

from gankit.config import Config, apply_overrides, load_config, parse_duration, recipe_names
from gankit.options import describe, to_dict
from gankit.errors import ConfigError
from gankit.registry import names


def test_defaults_resolve_components():
    cfg = load_config({"train": {"steps": 5}})
    assert cfg.model.name == "gan" and hasattr(cfg.model, "g_loss")
    assert cfg.model.generator.name == "mlp" and hasattr(cfg.model.generator, "hidden")
    assert cfg.data.name == "mnist"


def test_model_defaults_follow_the_model():
    cfg = load_config({"model": {"name": "wgan-gp"}, "train": {"steps": 5}})
    assert cfg.model.penalty_weight == 10 and cfg.model.penalty == "wgan-gp" and cfg.model.n_critic == 5
    assert cfg.model.optim_d.lr == 1e-4 and cfg.model.optim_d.betas == (0.0, 0.9)


def test_nested_override_keeps_other_defaults():
    cfg = load_config({"model": {"name": "wgan-gp", "optim_d": {"lr": 3e-4}}, "train": {"steps": 5}})
    assert cfg.model.optim_d.lr == 3e-4 and cfg.model.optim_d.betas == (0.0, 0.9)


def test_every_recipe_the_readme_names_exists():
    # the README quotes each recipe with its figure: a renamed or removed recipe must not leave a dead name there
    import re
    from pathlib import Path
    from gankit.data.domains import BUILTIN
    from gankit.study.spec import spec_names
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    quoted = set(re.findall(r"`([a-z0-9][a-z0-9-]*-(?:ring|grid|mnist|fashion|folder|lines|unbalanced))`", readme))
    debian = {"dataset-fashion-mnist"}   # the package Fashion-MNIST comes from
    known = set(recipe_names()) | set(spec_names()) | set(BUILTIN) | set(names("dataset")) | debian
    assert len(quoted) > 20 and not quoted - known, sorted(quoted - known)


@pytest.mark.parametrize("name", recipe_names())
def test_every_recipe_validates(name):
    overrides = ["data.root=/tmp"] if "folder" in name else []
    cfg = load_config(name, overrides)
    assert isinstance(cfg, Config)


def test_dotted_overrides_parse_yaml_values():
    cfg = load_config("gan-ring", ["model.generator.hidden=[8, 8]", "train.steps=7", "model.g_loss=minimax"])
    assert cfg.model.generator.hidden == [8, 8] and cfg.train.steps == 7 and cfg.model.g_loss == "minimax"


def test_override_can_switch_a_network():
    cfg = load_config("gan-ring", ["model.discriminator.name=mlp", "model.discriminator.norm=spectral"])
    assert cfg.model.discriminator.norm == "spectral"


def test_round_trip_through_dict():
    cfg = load_config("wgan-gp-mnist")
    assert to_dict(load_config(to_dict(cfg))) == to_dict(cfg)


@pytest.mark.parametrize("raw,needle", [
    ({"train": {"step": 5}}, "Did you mean 'steps'"),
    ({"model": {"name": "gan", "z_dims": 3}, "train": {"steps": 5}}, "Did you mean 'z_dim'"),
    ({"model": {"generator": {"name": "mlp", "hiden": [3]}}, "train": {"steps": 5}}, "Did you mean 'hidden'"),
    ({"trian": {"steps": 5}}, "Did you mean 'train'"),
    ({"train": {"steps": "ten"}}, "train.steps must be int"),
    ({"train": {"steps": 5, "batch_size": 1.5}}, "train.batch_size must be int"),
    ({"train": {"steps": 5, "progress": "yes"}}, "train.progress must be bool"),
    ({"train": {"steps": -1}}, "must be positive"),
    ({"train": {"steps": 5, "device": "gpu"}}, "one of 'auto', 'cpu', 'cuda'"),
    ({"model": {"name": "gann"}, "train": {"steps": 5}}, "Did you mean 'gan'"),
    ({"model": {"name": "nope"}, "train": {"steps": 5}}, "Valid models: cgan, cvae, cvaegan, dmwgan, dragan, dualgan, ebgan, fgan, gan"),
    ({"data": {"name": "mnsit"}, "train": {"steps": 5}}, "Did you mean 'mnist'"),
    ({"model": {"generator": {"name": "resnet"}}, "train": {"steps": 5}}, "Valid nets: dcgan, mlp"),
    ({"model": {"name": "gan", "optim_d": {"betas": [0.5]}}, "train": {"steps": 5}}, "must have 2 entries"),
    ({"model": {"name": "gan", "optim_d": {"name": "adamw"}}, "train": {"steps": 5}}, "Did you mean 'adam'"),
    ({"train": {"steps": None}}, "sets no budget"),
    ({"train": {"budget": "ten minutes"}}, "as a duration"),
    ({"model": {"name": "gan", "n_critic": 0}, "train": {"steps": 5}}, "n_critic"),
])
def test_bad_configs_are_rejected_with_a_clear_message(raw, needle):
    with pytest.raises(ConfigError, match=None) as e:
        load_config(raw)
    assert needle in str(e.value), str(e.value)


def test_wgan_gp_rejects_batch_norm_in_the_critic():
    with pytest.raises(ConfigError, match="batch normalization"):
        load_config({"model": {"name": "wgan-gp", "discriminator": {"name": "dcgan", "norm": "batch"}},
                     "train": {"steps": 5}})


def test_unknown_recipe_suggests_a_name():
    with pytest.raises(ConfigError, match="Did you mean 'dcgan-mnist'"):
        load_config("dcgan-mnst")


def test_bad_override_form():
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides({}, ["train.steps"])
    with pytest.raises(ConfigError, match="is a value, not a section"):
        apply_overrides({"train": {"steps": 3}}, ["train.steps.x=1"])


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("10m", 600), ("1h30m", 5400), ("45", 45), ("1.5m", 90)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_describe_lists_every_option_with_help():
    from gankit.registry import lookup

    lines = describe(lookup("model", "wgan-gp").options)
    assert any(line.startswith("penalty_weight: 10.0") and "#" in line for line in lines)
    assert all("#" in line for line in lines)


def test_describe_shows_a_models_own_optimizer_defaults():
    # regression: nested sections were described from their class, so `gankit list --options wgan-gp`
    # printed OptimConfig's Adam 2e-4 (0.5, 0.999) instead of the model's Adam 1e-4 (0, 0.9)
    from gankit.registry import lookup

    lines = [line.strip() for line in describe(lookup("model", "wgan-gp").options)]
    at = lines.index(next(line for line in lines if line.startswith("optim_d:")))
    assert lines[at + 2].startswith("lr: 0.0001") and lines[at + 3].startswith("betas: [0.0, 0.9]")
    wgan = [line.strip() for line in describe(lookup("model", "wgan").options)]
    assert "name: rmsprop" in " ".join(wgan) and any(line.startswith("lr: 5.0e-05") for line in wgan)


def test_registry_names():
    assert {"gan", "wgan-gp"} <= set(names("model"))
    assert {"mnist", "fashion-mnist", "ring", "grid", "lines", "folder"} <= set(names("dataset"))
    assert {"mlp", "dcgan"} <= set(names("net"))


def test_a_recipe_budget_is_not_capped_by_a_hidden_default():
    cfg = load_config("dcgan-mnist")
    assert cfg.train.epochs == 5 and cfg.train.steps is None
    with pytest.raises(ConfigError, match="sets no budget"):
        load_config({"model": {"name": "gan"}})
