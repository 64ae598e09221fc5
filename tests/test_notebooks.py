"""The Colab and Kaggle notebooks: in sync with their source, pinned sanely, and runnable.

Each notebook is executed top to bottom with nbclient in smoke mode (``CLINR1_NOTEBOOK_SMOKE=1``:
the tiny offline model, the bundled items, a few steps on the CPU), in a kernel started from
this interpreter, so it imports the clinr1 being tested.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
PLATFORMS = ("colab", "kaggle")
SMOKE_VAR = "CLINR1_NOTEBOOK_SMOKE"


def _build_module():
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOKS / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("platform", PLATFORMS)
def test_committed_notebook_matches_its_source(platform: str) -> None:
    build = _build_module()
    committed = build.notebook_path(platform).read_text(encoding="utf-8")
    assert committed == build.build(platform), (
        f"notebooks/clinr1_{platform}.ipynb differs from notebooks/src/clinr1.py: "
        "run `make notebooks` and commit both"
    )


def test_build_is_deterministic_and_holds_no_outputs() -> None:
    build = _build_module()
    for platform in PLATFORMS:
        text = build.build(platform)
        assert text == build.build(platform)
        nb = json.loads(text)
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
        assert "jupytext" not in nb["metadata"]
        source = "".join("".join(c["source"]) for c in code)
        other = ({"colab": "kaggle", "kaggle": "colab"})[platform]
        assert f'PLATFORM = "{platform}"' in source and f"from {other}" not in source


def test_readme_badges_come_from_the_build_constant() -> None:
    build = _build_module()
    readme = (NOTEBOOKS / "README.md").read_text(encoding="utf-8")
    for platform in PLATFORMS:
        assert build.badge(platform) in readme
        owner_repo = build.REPO_URL.removeprefix("https://github.com/")
        assert f"/{owner_repo}/blob/" in build.badge(platform)


def _install_pins() -> dict[str, str]:
    """``PINS`` of the notebooks' install cell, as name -> version."""
    tree = ast.parse((NOTEBOOKS / "src" / "clinr1.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "PINS" for t in node.targets
        ):
            pins = ast.literal_eval(node.value)
            return dict(p.split("==") for p in pins)
    raise AssertionError("no PINS list in notebooks/src/clinr1.py")


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_install_pins_are_exact_and_inside_pyproject_ranges() -> None:
    """The notebooks' exact pins satisfy clinr1's own requirements (and its ``gpu`` extra), so
    installing clinr1 after them changes nothing. (That the pins resolve together on PyPI is
    checked with ``pip install --dry-run``; see notebooks/README.md.)"""
    from packaging.requirements import Requirement

    pins = {_canon(k): v for k, v in _install_pins().items()}
    assert {"torch", "unsloth", "unsloth-zoo", "transformers", "trl", "peft"} <= pins.keys()
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["gpu"]
    checked = 0
    for text in requirements:
        req = Requirement(text)
        if _canon(req.name) in pins:
            version = pins[_canon(req.name)]
            assert req.specifier.contains(version, prereleases=True), f"{req} vs =={version}"
            checked += 1
    assert checked >= 8


@pytest.fixture
def kernel_manager(tmp_path: Path):
    """A kernel manager whose only kernel runs ``sys.executable`` (this venv), whatever
    kernelspecs the machine has registered."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    kernels = tmp_path / "kernels"
    spec = kernels / "clinr1-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "clinr1 test venv", "language": "python"})
    )
    ksm = KernelSpecManager(kernel_dirs=[str(kernels)])
    return KernelManager(kernel_name="clinr1-test", kernel_spec_manager=ksm)


def _text_outputs(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif "data" in out:
                data = out["data"]
                parts.append(str(data.get("text/markdown") or data.get("text/plain", "")))
    return "".join(parts)


@pytest.mark.slow
@pytest.mark.parametrize("platform", PLATFORMS)
def test_notebook_runs_top_to_bottom_in_smoke_mode(
    platform: str, tmp_path: Path, kernel_manager, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv(SMOKE_VAR, "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.read(NOTEBOOKS / f"clinr1_{platform}.ipynb", as_version=4)
    client = NotebookClient(
        nb,
        km=kernel_manager,
        timeout=600,
        allow_errors=False,  # any cell error fails the test (CellExecutionError)
        resources={"metadata": {"path": str(work)}},
    )
    client.execute()
    nbformat.write(nb, tmp_path / f"executed_{platform}.ipynb")  # kept for a failure's reader

    out = work / "outputs"
    records = [json.loads(line) for line in (out / "crpo-t4" / "metrics.jsonl").open()]
    assert any("rewards/accuracy/mean" in r for r in records)
    assert (out / "crpo-t4" / "adapter_config.json").is_file()
    for stage in ("eval-before", "eval-after"):
        assert (out / stage / "summary.json").is_file()
    assert (out / "crpo_rewards.png").stat().st_size > 0
    assert (out / "export-lora" / "adapter_config.json").is_file()
    assert (out / "export-merged16" / "config.json").is_file()
    assert (out / "export-merged16" / "README.md").is_file()
    text = _text_outputs(nb)
    # GPU-only cells are skipped with a reason, not silently.
    for reason in ("SKIPPED: smoke mode: 4-bit", "SKIPPED: smoke mode: the GGUF", "SKIPPED: smoke"):
        assert reason in text
    assert "CRPO scores:" in text  # the chat cell answered and scored a case
    assert "| benchmark | metric | before | after |" in text  # the before/after table
