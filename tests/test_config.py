"""Recipes: sections, overrides, and every error reported at once with its dotted key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from clinr1.config import (
    Recipe,
    RecipeError,
    apply_override,
    load_recipe,
    parse_override,
    recipe_from_dict,
)

RECIPES = sorted((Path(__file__).resolve().parents[1] / "recipes").glob("*.yaml"))


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_every_shipped_recipe_validates(path: Path) -> None:
    recipe = load_recipe(path)
    assert isinstance(recipe, Recipe)
    assert recipe.rewards, "a recipe without rewards cannot train"


def test_shipped_recipes_are_all_there() -> None:
    names = {p.name for p in RECIPES}
    assert {"crpo.yaml", "grpo.yaml", "crpo-t4.yaml", "smoke.yaml", "sft-coldstart.yaml"} <= names


def test_crpo_uses_three_objectives_and_grpo_accuracy_only() -> None:
    root = RECIPES[0].parent
    crpo = {r.name: r.weight for r in load_recipe(root / "crpo.yaml").rewards}
    assert crpo["accuracy"] == 10 and crpo["faithfulness"] == 1 and crpo["comprehensiveness"] == 1
    grpo = {r.name for r in load_recipe(root / "grpo.yaml").rewards if r.weight}
    assert grpo == {"accuracy"}


@pytest.mark.parametrize(
    ("text", "path", "value"),
    [
        ("grpo.learning_rate=1e-5", ["grpo", "learning_rate"], 1e-5),  # YAML 1.1 keeps 1e-5 a str
        ("model.load_in_4bit=false", ["model", "load_in_4bit"], False),
        ("grpo.max_steps=3", ["grpo", "max_steps"], 3),
        ("train.output_dir=out/run.v2", ["train", "output_dir"], "out/run.v2"),
        ("model.lora=null", ["model", "lora"], None),
        ("eval.benchmarks=[medqa, medmcqa]", ["eval", "benchmarks"], ["medqa", "medmcqa"]),
    ],
)
def test_parse_override_types_values(text: str, path: list[str], value: object) -> None:
    assert parse_override(text) == (path, value)


def test_override_without_equals_is_an_error() -> None:
    with pytest.raises(RecipeError, match="KEY=VALUE"):
        parse_override("grpo.learning_rate")


def test_override_wins_over_yaml_and_reaches_list_items(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("grpo: {learning_rate: 1.0e-4}\nrewards:\n  - {name: accuracy, weight: 10}\n")
    recipe = load_recipe(path, ["grpo.learning_rate=2e-6", "rewards.0.weight=5"])
    assert recipe.grpo["learning_rate"] == 2e-6
    assert recipe.rewards[0].weight == 5


def test_bad_list_index_is_reported() -> None:
    data = {"rewards": [{"name": "accuracy"}]}
    with pytest.raises(RecipeError, match=r"rewards\.3: no such list index"):
        apply_override(data, ["rewards", "3", "weight"], 1)


def test_all_errors_at_once_with_dotted_paths() -> None:
    data = {
        "model": {"max_seq_length": "long", "enigne": "hf"},
        "grpo": {"learnig_rate": 1e-5},
        "prompt": {"template": "soap"},
    }
    with pytest.raises(RecipeError) as info:
        recipe_from_dict(data)
    text = "\n".join(info.value.errors)
    assert "model.max_seq_length:" in text
    assert "model.enigne: unknown key" in text
    assert "prompt.template:" in text and "crpo" in text
    assert "grpo.learnig_rate: unknown key" in text
    assert len(info.value.errors) == 4


def test_grpo_value_types_are_checked_against_trl() -> None:
    with pytest.raises(RecipeError) as info:
        recipe_from_dict({"grpo": {"num_generations": "many", "beta": 0.001}})
    assert info.value.errors == [
        "grpo.num_generations: Input should be a valid integer, unable to parse string as an "
        "integer (got 'many')"
    ]


class _Opaque:  # no pydantic schema: the check says so instead of passing silently
    pass


@dataclasses.dataclass
class _Config:  # a TRL-like config with a field pydantic cannot check
    steps: int = 1
    hook: _Opaque | None = None


def test_a_trl_type_pydantic_cannot_read_is_left_to_trl_with_a_warning() -> None:
    from clinr1.config import _check_trl_section, trl_kwargs

    with pytest.warns(UserWarning, match=r"grpo\.hook: type not checked here, pydantic cannot"):
        assert _check_trl_section("grpo", {"steps": "2", "hook": "x"}, _Config) == []
    assert trl_kwargs({"steps": "2", "hook": "x"}, _Config) == {"steps": 2, "hook": "x"}


def test_grpo_keys_owned_elsewhere_are_redirected() -> None:
    with pytest.raises(RecipeError) as info:
        recipe_from_dict({"grpo": {"output_dir": "x", "reward_weights": [1.0]}})
    text = "\n".join(info.value.errors)
    assert "grpo.output_dir: set train.output_dir instead" in text
    assert "grpo.reward_weights: set the weights in rewards[].weight instead" in text


def test_trl_rejects_inconsistent_settings() -> None:
    # TRL itself refuses a batch that is not a multiple of the group size.
    data = {"grpo": {"num_generations": 3, "per_device_train_batch_size": 4, "bf16": False}}
    with pytest.raises(RecipeError) as info:
        recipe_from_dict(data)
    assert info.value.errors[0].startswith("grpo: ")


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="recipe file not found"):
        load_recipe(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(RecipeError, match=r"not valid YAML \(line"):
        load_recipe(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("3\n")
    with pytest.raises(RecipeError, match="mapping of sections"):
        load_recipe(scalar)


def test_defaults_are_the_paper_weights() -> None:
    recipe = recipe_from_dict({}, check_trl=False)
    assert [(r.name, r.weight) for r in recipe.rewards] == [
        ("accuracy", 10.0),
        ("faithfulness", 1.0),
        ("comprehensiveness", 1.0),
    ]
    assert recipe.prompt.template == "crpo"


def test_an_entry_without_weight_takes_its_rewards_default() -> None:
    data = {"rewards": [{"name": "accuracy"}, {"name": "format"}, {"name": "faithfulness"}]}
    recipe = recipe_from_dict(data, check_trl=False)
    assert [r.weight for r in recipe.rewards] == [10.0, 0.0, 1.0]
    explicit = recipe_from_dict({"rewards": [{"name": "accuracy", "weight": 2}]}, check_trl=False)
    assert explicit.rewards[0].weight == 2.0


def test_reward_names_and_params_are_checked_with_their_index() -> None:
    data = {"rewards": [{"name": "acuracy", "weight": 10}, {"name": "format", "params": {"x": 1}}]}
    with pytest.raises(RecipeError) as info:
        recipe_from_dict(data, check_trl=False)
    assert info.value.errors[0].startswith("rewards.0.name: unknown reward 'acuracy'; valid: ")
    assert info.value.errors[1].startswith("rewards.1.params: reward 'format': bad parameters")
    assert len(info.value.errors) == 2


def test_a_reward_listed_twice_is_an_error() -> None:
    with pytest.raises(RecipeError, match="rewards: reward 'accuracy' is listed twice"):
        recipe_from_dict({"rewards": [{"name": "accuracy"}, {"name": "accuracy"}]})
