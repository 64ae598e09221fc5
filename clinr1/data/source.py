"""Where a dataset comes from: the ``data.train`` / ``data.eval`` sections of a recipe.

Light on purpose (pydantic, and the stdlib-only adapter registry): the recipe schema imports it on
the CLI start-up path.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clinr1.data.adapters import ADAPTERS, GENERIC_ADAPTERS, GENERIC_FIELDS


class DataSource(BaseModel):
    """One dataset: an adapter name plus a local file or a hub id."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        description="adapter: medqa, medmcqa, medxpertqa, pubmedqa, mmlu-medical, "
        "file (jsonl, csv), unified, demo"
    )
    path: str | None = Field(default=None, description="local file (jsonl/json/csv/tsv/parquet)")
    hub: str | None = Field(
        default=None, description="Hugging Face dataset id (overrides the adapter default)"
    )
    subset: str | None = Field(
        default=None, description="hub configuration; mmlu-medical: a subject or a comma list"
    )
    split: str | None = Field(
        default=None,
        description="split, slicing allowed (train[:50%]); default: the adapter's "
        "(test for medxpertqa and mmlu-medical, else train). A local file is one split: "
        "only the slice applies",
    )
    limit: int | None = Field(default=None, ge=1, description="keep the first N items")
    strict: bool = Field(default=False, description="bad rows are an error instead of skipped")
    cop_base: Literal[0, 1] | None = Field(
        default=None, description="MedMCQA 'cop' base when the data cannot tell"
    )
    columns: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description="generic adapter: unified field -> column; options: one column "
        "(dict/list/JSON) or a list of columns (lettered A, B, ...)",
    )
    answer_format: Literal["letter", "index0", "index1", "text"] | None = Field(
        default=None,
        description="generic adapter: how the answer column is written (default letter)",
    )

    @field_validator("name")
    @classmethod
    def _known_adapter(cls, value: str) -> str:
        if value not in ADAPTERS:
            raise ValueError(f"unknown adapter {value!r}; valid: {', '.join(ADAPTERS)}")
        return value

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        unknown = sorted(set(value) - set(GENERIC_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown field(s) {', '.join(unknown)}; valid: {', '.join(GENERIC_FIELDS)}"
            )
        for k, v in value.items():
            if isinstance(v, list) and k != "options":
                raise ValueError(f"only 'options' may list several columns, not {k!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DataSource:
        if self.path and self.hub:
            raise ValueError("give path or hub, not both")
        generic = self.name in GENERIC_ADAPTERS
        if (self.columns or self.answer_format) and not generic:
            raise ValueError(
                f"columns/answer_format apply to the generic adapters "
                f"({', '.join(GENERIC_ADAPTERS)}), not {self.name!r}"
            )
        if self.cop_base is not None and self.name != "medmcqa":
            raise ValueError(f"cop_base applies to medmcqa, not {self.name!r}")
        if generic and not (self.path or self.hub):
            raise ValueError(f"adapter {self.name!r} needs a path (or hub)")
        return self
