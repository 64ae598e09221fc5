"""Dataset adapters: every source becomes one ``Item`` schema; bad rows counted; one-line errors.

Fixtures in ``tests/data/`` follow each hub schema (see its README); the real samples in
``../shared/data`` are used when present and skipped otherwise.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from clinr1.data import DataError, DataSource, LoadResult, demo_items, load_items, parse_split
from clinr1.data.adapters import (
    ANSWER_MISMATCH,
    ANSWER_NOT_IN_OPTIONS,
    MMLU_MEDICAL_SUBJECTS,
    NO_ANSWER,
    TOO_FEW_OPTIONS,
    strip_answer_choices,
)

FIXTURES = Path(__file__).parent / "data"


def load(name: str, path: Path | str | None = None, **kw) -> LoadResult:
    return load_items(DataSource(name=name, path=str(path) if path else None, **kw))


def by_id(result: LoadResult) -> dict:
    return {item.id: item for item in result.items}


# --- the real samples in ../shared/data -----------------------------------------------------


def test_shared_medmcqa_sample_all_rows_map_one_based(shared_data: Path) -> None:
    path = shared_data / "medmcqa_dev_sample.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    result = load("medmcqa", path)
    assert len(result.items) == len(rows) == 100 and result.skipped == 0
    first = result.items[0]  # cop=2 in the 1-based original release -> B
    assert rows[0]["cop"] == 2
    assert (first.answer, first.answer_text) == ("B", "Average")
    assert first.id == "4b40c558-d6be-4683-ac70-b43beafccae3"
    assert first.options == {
        "A": "Low average.",
        "B": "Average",
        "C": "Superior",
        "D": "Mentally retarded.",
    }
    assert first.meta["subject_name"] == "Dental"
    for row, item in zip(rows, result.items, strict=True):
        letter = "ABCD"[row["cop"] - 1]
        assert item.answer == letter
        assert item.answer_text == row["op" + letter.lower()]
        assert item.explanation == (row["exp"] or None)
    assert sum(item.explanation is not None for item in result.items) == 43


def test_shared_medqa_sample_all_rows_map_with_five_options(shared_data: Path) -> None:
    path = shared_data / "medqa_usmle_test_sample.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    result = load("medqa", path)
    assert len(result.items) == 100 and result.skipped == 0
    for row, item in zip(rows, result.items, strict=True):
        assert list(item.options) == ["A", "B", "C", "D", "E"]
        assert item.answer == row["answer_idx"]
        assert item.answer_text == row["answer"]
        assert item.question == row["question"].strip()
        assert item.meta["meta_info"] == row["meta_info"]


def test_shared_medmcqa_explicit_wrong_base_is_an_error(shared_data: Path) -> None:
    # The file has cop=4, which only 1-based data has: an explicit 0 is refused, not remapped.
    with pytest.raises(DataError, match=r"cop_base is 0 .* cop=4"):
        load("medmcqa", shared_data / "medmcqa_dev_sample.jsonl", cop_base=0)


def test_split_slices_apply_to_local_files(shared_data: Path) -> None:
    path = shared_data / "medmcqa_dev_sample.jsonl"
    half = load("medmcqa", path, split="train[:50%]")
    assert len(half.items) == 50
    window = load("medqa", shared_data / "medqa_usmle_test_sample.jsonl", split="train[10:13]")
    # ids count from the file's first row, so slices of one file never collide
    assert [i.id for i in window.items] == ["medqa-train-10", "medqa-train-11", "medqa-train-12"]
    # a local file is one split: the name is ignored, the slice applies; the cop base is still
    # detected on the whole file (the first 5 rows alone have no cop=4)
    assert len(load("medmcqa", path, split="validation[:5]").items) == 5


def test_limit_keeps_first_items(shared_data: Path) -> None:
    result = load("medmcqa", shared_data / "medmcqa_dev_sample.jsonl", limit=3)
    assert len(result.items) == 3
    assert "(limit 3)" in result.summary()


# --- MedQA ------------------------------------------------------------------------------------


def test_medqa_hub_schema_four_options_and_mismatch_skipped() -> None:
    result = load("medqa", FIXTURES / "medqa_hub_4options.jsonl")
    assert [len(i.options) for i in result.items] == [4, 4]
    first, second = result.items
    assert (first.answer, first.answer_text) == ("B", "Treponema pallidum")
    assert (second.answer, second.answer_text) == ("D", "Substantia nigra pars compacta")
    assert first.source == "medqa" and first.meta == {"meta_info": "step1"}
    # row 3: answer_idx C but answer is A's text -> skipped, never trusted either way
    assert result.reasons == Counter({ANSWER_MISMATCH: 1})


def test_medqa_original_five_options() -> None:
    result = load("medqa", FIXTURES / "medqa_original_5options.jsonl")
    assert [(i.answer, i.answer_text) for i in result.items] == [
        ("A", "Oral penicillin V"),
        ("E", "Colles fracture"),
    ]
    assert all(list(i.options) == list("ABCDE") for i in result.items)


def test_bad_rows_are_counted_in_one_summary_line() -> None:
    result = load("medqa", FIXTURES / "medqa_bad_rows.jsonl")
    assert len(result.items) == 1
    assert result.skipped == 3
    assert result.reasons == Counter({NO_ANSWER: 1, ANSWER_NOT_IN_OPTIONS: 1, TOO_FEW_OPTIONS: 1})
    line = result.summary()
    assert "\n" not in line
    assert "1 items, 3 bad rows skipped" in line
    assert "no answer: 1" in line and "fewer than 2 options: 1" in line


def test_strict_makes_bad_rows_an_error() -> None:
    with pytest.raises(DataError, match=r"3 bad rows with data\.\*\.strict: true") as err:
        load("medqa", FIXTURES / "medqa_bad_rows.jsonl", strict=True)
    assert "\n" not in str(err.value)
    assert "first: row 1, no answer" in str(err.value)


# --- MedMCQA ----------------------------------------------------------------------------------


def test_medmcqa_hub_schema_detected_zero_based() -> None:
    result = load("medmcqa", FIXTURES / "medmcqa_hub.jsonl")
    items = by_id(result)
    assert (items["hub-0001"].answer, items["hub-0001"].answer_text) == ("A", "Ethosuximide")
    assert (items["hub-0002"].answer, items["hub-0002"].answer_text) == ("C", "Small intestine")
    assert (items["hub-0003"].answer, items["hub-0003"].answer_text) == ("D", "Abducens")
    assert items["hub-0001"].explanation.startswith("Ethosuximide blocks")
    assert items["hub-0002"].explanation is None
    assert result.reasons == Counter({NO_ANSWER: 1})  # cop == -1, the test split's "no label"


def test_medmcqa_ambiguous_base_requires_cop_base() -> None:
    with pytest.raises(DataError, match=r"data\.\*\.cop_base.*--cop-base"):
        load("medmcqa", FIXTURES / "medmcqa_ambiguous.jsonl")
    one = by_id(load("medmcqa", FIXTURES / "medmcqa_ambiguous.jsonl", cop_base=1))
    zero = by_id(load("medmcqa", FIXTURES / "medmcqa_ambiguous.jsonl", cop_base=0))
    assert one["amb-1"].answer_text == "60-100"  # cop 2, 1-based -> B
    assert zero["amb-1"].answer_text == "110-140"  # cop 2, 0-based -> C


def test_medmcqa_from_hub_defaults_to_documented_zero_base(monkeypatch) -> None:
    datasets = pytest.importorskip("datasets")
    rows = [json.loads(line) for line in (FIXTURES / "medmcqa_ambiguous.jsonl").open()]
    features = datasets.Features(
        {
            **{k: datasets.Value("string") for k in rows[0] if k != "cop"},
            "cop": datasets.ClassLabel(names=["a", "b", "c", "d"]),
        }
    )
    table = datasets.Dataset.from_list(rows, features=features)
    calls = []

    def fake_load_dataset(path, name=None, split=None, **kw):
        calls.append((path, name, split))
        return table

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    result = load_items(DataSource(name="medmcqa", split="validation[:2]"))
    assert calls == [("openlifescienceai/medmcqa", None, "validation")]
    # only cop 1-3 in the data, but the hub copy is documented 0-based: cop 2 -> C
    assert [i.answer for i in result.items] == ["C", "B"]
    assert "openlifescienceai/medmcqa split=validation[:2]" in result.summary()


# --- MedXpertQA, PubMedQA, MMLU ---------------------------------------------------------------


def test_medxpertqa_text_strips_embedded_choices() -> None:
    result = load("medxpertqa", FIXTURES / "medxpertqa_text.jsonl")
    first, second = result.items
    assert list(first.options) == list("ABCDEFGHIJ")
    assert (first.answer, first.answer_text) == ("C", "Acute mesenteric ischemia")
    assert first.question.endswith("Which of the following is the most likely diagnosis?")
    assert "Answer Choices" not in first.question and "(A)" not in first.question
    assert first.id == "Text-0"
    assert first.meta == {
        "medical_task": "Diagnosis",
        "body_system": "Digestive",
        "question_type": "Reasoning",
    }
    assert second.question.startswith("Which electrolyte") and second.answer == "A"


def test_strip_answer_choices_leaves_other_text() -> None:
    assert strip_answer_choices("Q? Answer Choices: (A) 1 (B) 2") == "Q?"
    assert strip_answer_choices("No choices here.") == "No choices here."


def test_pubmedqa_yes_no_maybe_with_abstract_context() -> None:
    result = load("pubmedqa", FIXTURES / "pubmedqa_labeled.jsonl")
    assert [i.answer for i in result.items] == ["A", "B", "C"]
    first = result.items[0]
    assert first.options == {"A": "yes", "B": "no", "C": "maybe"}
    assert first.answer_text == "yes"
    assert first.id == "10000001"
    assert first.context == (
        "BACKGROUND: Delayed mobilisation after hip surgery is common.\n"
        "RESULTS: We compared 200 patients mobilised within 24 hours with 200 mobilised later; "
        "median stay was 9 versus 12 days."
    )
    assert first.explanation == "Mobilisation within 24 hours was associated with a shorter stay."
    assert first.meta == {"meshes": ["Hip Fractures", "Length of Stay"]}


def test_mmlu_medical_local_file_and_subject_filter() -> None:
    result = load("mmlu-medical", FIXTURES / "mmlu_medical.jsonl")
    assert [(i.answer, i.answer_text) for i in result.items] == [
        ("B", "Calcaneus"),
        ("A", "Left ventricle"),
        ("D", "Autosomal recessive"),
    ]
    genetics = load("mmlu-medical", FIXTURES / "mmlu_medical.jsonl", subset="medical_genetics")
    assert [i.meta["subject"] for i in genetics.items] == ["medical_genetics"]


def test_mmlu_medical_from_hub_loads_all_six_subjects(monkeypatch) -> None:
    datasets = pytest.importorskip("datasets")
    rows = [json.loads(line) for line in (FIXTURES / "mmlu_medical.jsonl").open()]
    calls = []

    def fake_load_dataset(path, name=None, split=None, **kw):
        calls.append((path, name, split))
        return datasets.Dataset.from_list([{**r, "subject": name} for r in rows])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    result = load_items(DataSource(name="mmlu-medical"))
    assert calls == [("cais/mmlu", s, "test") for s in MMLU_MEDICAL_SUBJECTS]
    assert len(result.items) == 3 * len(MMLU_MEDICAL_SUBJECTS)
    assert len({i.id for i in result.items}) == len(result.items)
    calls.clear()
    load_items(DataSource(name="mmlu-medical", subset="anatomy, college_medicine", split="dev"))
    assert calls == [("cais/mmlu", "anatomy", "dev"), ("cais/mmlu", "college_medicine", "dev")]


def test_hub_defaults_for_medxpertqa_and_pubmedqa(monkeypatch) -> None:
    datasets = pytest.importorskip("datasets")
    calls = []
    fixture = {"medxpertqa": "medxpertqa_text.jsonl", "pubmedqa": "pubmedqa_labeled.jsonl"}
    real_load_dataset = datasets.load_dataset

    def fake_load_dataset(path, name=None, split=None, **kw):
        calls.append((path, name, split))
        file = FIXTURES / fixture["medxpertqa" if "MedXpert" in path else "pubmedqa"]
        return real_load_dataset("json", data_files=str(file), split="train")

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    assert len(load_items(DataSource(name="medxpertqa")).items) == 2
    assert len(load_items(DataSource(name="pubmedqa")).items) == 3
    assert calls[0] == ("TsinghuaC3I/MedXpertQA", "Text", "test")
    assert calls[-1] == ("qiaojin/PubMedQA", "pqa_labeled", "train")


# --- generic files ----------------------------------------------------------------------------


def test_generic_csv_option_columns_and_one_based_index() -> None:
    result = load(
        "csv",
        FIXTURES / "generic_index1.csv",
        columns={
            "id": "qid",
            "question": "stem",
            "options": ["choice1", "choice2", "choice3"],
            "answer": "gold",
            "explanation": "why",
        },
        answer_format="index1",
    )
    assert [(i.id, i.answer, i.answer_text) for i in result.items] == [
        ("g1", "B", "Protamine sulfate"),
        ("g2", "A", "Epinephrine"),
        ("g3", "C", "4.0 mEq/L"),
    ]
    assert result.items[0].explanation == "Protamine binds heparin."
    assert result.items[2].explanation is None
    assert result.items[0].source == "csv"


def test_generic_jsonl_list_options_answer_as_text() -> None:
    result = load(
        "jsonl",
        FIXTURES / "generic_text.jsonl",
        columns={"question": "stem", "options": "choices", "answer": "gold"},
        answer_format="text",
    )
    assert [(i.answer, i.answer_text) for i in result.items] == [
        ("A", "Vitamin A"),
        ("B", "Insulin"),  # "insulin" matches case-insensitively, exactly once
    ]
    assert result.reasons == Counter({ANSWER_NOT_IN_OPTIONS: 1})  # "Mannitol" is no option
    assert result.items[0].id == "jsonl-train-0"


def test_generic_numbers_read_as_letters_is_an_error() -> None:
    columns = {"question": "stem", "options": ["choice1", "choice2", "choice3"], "answer": "gold"}
    with pytest.raises(DataError, match="answer_format: index0 or index1"):
        load("file", FIXTURES / "generic_index1.csv", columns=columns)


def test_generic_mapping_names_missing_columns() -> None:
    with pytest.raises(DataError, match=r"columns the file lacks: prompt"):
        load(
            "file",
            FIXTURES / "generic_text.jsonl",
            columns={"question": "prompt", "options": "choices", "answer": "gold"},
            answer_format="text",
        )
    with pytest.raises(DataError, match=r"needs data\.\*\.columns\.options"):
        load(
            "file", FIXTURES / "generic_text.jsonl", columns={"question": "stem", "answer": "gold"}
        )


# --- unified / demo ---------------------------------------------------------------------------


def test_demo_set_is_balanced_and_well_formed() -> None:
    items = demo_items()
    assert len(items) == 48
    assert len({i.id for i in items}) == 48
    counts = Counter(i.answer for i in items)
    assert set(counts) == set("ABCDE")
    assert max(counts.values()) - min(counts.values()) <= 1
    for item in items:
        assert item.source == "demo"
        assert list(item.options) in (list("ABCD"), list("ABCDE"))
        assert item.answer_text == item.options[item.answer]
        assert len(set(item.options.values())) == len(item.options)
        assert 2 <= len(re.findall(r"[.?!](?:\s|$)", item.question)) <= 5
        assert item.question.endswith("?")
        assert re.search(r"\d", item.question), "a concrete finding (age, vitals, labs)"
        assert item.explanation and item.meta.get("topic")


def test_demo_loads_through_the_loader_identically() -> None:
    result = load_items(DataSource(name="demo"))
    assert result.skipped == 0
    assert [i.to_dict() for i in result.items] == [i.to_dict() for i in demo_items()]


def test_unified_round_trips_item_dicts(tmp_path: Path) -> None:
    original = load("pubmedqa", FIXTURES / "pubmedqa_labeled.jsonl").items
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(i.to_dict()) + "\n" for i in original), encoding="utf-8")
    again = load("unified", path).items
    assert [i.to_dict() for i in again] == [i.to_dict() for i in original]


# --- errors -----------------------------------------------------------------------------------


def test_unreachable_hub_is_one_line_with_a_local_file_hint(monkeypatch) -> None:
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)  # as if set before import
    with pytest.raises(DataError) as err:
        load_items(DataSource(name="medqa"), key="data.train")
    assert str(err.value) == (
        "could not load GBaker/MedQA-USMLE-4-options from the Hugging Face hub (offline or "
        "unreachable); point at a local file with --path FILE (recipe: data.train.path)"
    )


def test_wrong_adapter_for_a_file_names_the_missing_columns() -> None:
    with pytest.raises(DataError, match=r"no column opa, opb, opc, opd, cop .* wrong adapter"):
        load("medmcqa", FIXTURES / "medqa_original_5options.jsonl")


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no such file: .*missing\.jsonl"):
        load("medqa", tmp_path / "missing.jsonl")
    odd = tmp_path / "items.xml"
    odd.write_text("<x/>")
    with pytest.raises(DataError, match=r"\.jsonl, \.json, \.csv"):
        load("medqa", odd)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"question": "x", \n')
    with pytest.raises(DataError, match=r"broken\.jsonl: no readable JSON line .*line 1\)"):
        load("medqa", broken)
    broken_csv = tmp_path / "broken.csv"
    broken_csv.write_text('a,b\n1,2,3,4\n"x\n')
    with pytest.raises(DataError, match=r"could not read .*broken\.csv as csv"):
        load("medqa", broken_csv)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("train", ("train", "")),
        ("train[:50%]", ("train", "[:50%]")),
        ("test[10:20]", ("test", "[10:20]")),
    ],
)
def test_parse_split(spec: str, expected: tuple[str, str]) -> None:
    assert parse_split(spec) == expected


def test_bad_split_spec_is_an_error() -> None:
    with pytest.raises(DataError, match="bad split"):
        parse_split("train+test")
    with pytest.raises(DataError, match="bad split"):
        load("medqa", FIXTURES / "medqa_original_5options.jsonl", split="train[:x]")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "medqaa"}, "unknown adapter 'medqaa'; valid: medqa, medmcqa"),
        ({"name": "medqa", "path": "a.jsonl", "hub": "x/y"}, "path or hub, not both"),
        ({"name": "medqa", "columns": {"question": "q"}}, "apply to the generic adapters"),
        ({"name": "medqa", "cop_base": 1}, "cop_base applies to medmcqa"),
        ({"name": "file", "path": "a.csv", "columns": {"stem": "q"}}, "unknown field(s) stem"),
        ({"name": "csv"}, "needs a path"),
    ],
)
def test_datasource_refuses_inconsistent_settings(kwargs: dict, message: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=re.escape(message)):
        DataSource(**kwargs)


def test_importing_clinr1_data_stays_light() -> None:
    code = "import sys, clinr1.data; print('datasets' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_generic_without_columns_reads_the_unified_schema(tmp_path: Path) -> None:
    # e.g. a cold-start SFT file: unified items plus a "completion" column, kept in meta
    row = {**demo_items()[0].to_dict(), "completion": "<think>...</think><answer>E</answer>"}
    path = tmp_path / "traces.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    (item,) = load("jsonl", path).items
    assert (item.id, item.source, item.answer) == ("demo-001", "demo", "E")
    assert item.meta["completion"].endswith("<answer>E</answer>")
    with pytest.raises(DataError, match=r"without data\.\*\.columns a file must be in clinr1"):
        load("jsonl", FIXTURES / "generic_text.jsonl")


def test_generic_unmapped_fields_default_to_same_named_columns(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    row = {"question": "Which?", "options": ["x", "y"], "gold": 0}
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    result = load("file", path, columns={"answer": "gold"}, answer_format="index0")
    assert [(i.answer, i.answer_text) for i in result.items] == [("A", "x")]


# --- unreadable lines, empty files, folders and missing paths --------------------------------


def _jsonl_with_bad_lines(tmp_path: Path) -> Path:
    """Four good MedQA rows with a torn line (3) and invalid UTF-8 (5) among them."""
    rows = [json.loads(x) for x in (FIXTURES / "medqa_hub_4options.jsonl").read_text().splitlines()]
    good = [json.dumps(r).encode() for r in (rows[0], rows[1], rows[0], rows[1])]
    lines = [good[0], good[1], b'{"question": "torn', good[2], b'{"question": "\xff\xfe"}', good[3]]
    path = tmp_path / "bad_lines.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_unreadable_lines_are_skipped_and_counted_with_one_based_line_numbers(
    tmp_path: Path,
) -> None:
    result = load("medqa", _jsonl_with_bad_lines(tmp_path))
    assert len(result.items) == 4
    assert result.bad_lines == [3, 5]
    assert result.reasons["unreadable line"] == 2
    assert "2 bad rows skipped" in result.summary()
    assert "lines 3, 5" in result.summary()
    # Ids of rows without their own id stay those of a clean file: line 4 is row 3 (0-based).
    assert [i.id for i in result.items] == [f"medqa-train-{n}" for n in (0, 1, 3, 5)]


def test_unreadable_lines_with_strict_name_the_first_line(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"first: line 3, unreadable line"):
        load("medqa", _jsonl_with_bad_lines(tmp_path), strict=True)


def test_empty_file_folder_and_missing_hub_folder_are_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n")
    with pytest.raises(DataError, match=r"empty\.jsonl is empty"):
        load("medqa", empty)
    with pytest.raises(DataError, match=r"is a folder, not a file"):
        load("medqa", tmp_path)
    with pytest.raises(DataError, match=r"no such folder: \./nowhere/medqa"):
        load_items(DataSource(name="medqa", hub="./nowhere/medqa"))
    (tmp_path / "data").mkdir()
    missing = tmp_path / "data" / "medqa"
    with pytest.raises(DataError, match=r"no such folder"):
        load_items(DataSource(name="medqa", hub=str(missing)))
