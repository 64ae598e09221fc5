"""Generate the Colab and Kaggle notebooks from one jupytext source (``make notebooks``).

``notebooks/src/clinr1.py`` (percent format) is the only file to edit. A cell tagged ``colab``
or ``kaggle`` goes into that platform's notebook only; ``{{KEY}}`` placeholders are filled per
platform (:data:`PLATFORMS`). The output has no outputs, no execution counts, sequential cell
ids and fixed metadata, so the same source always gives the same bytes and a test can compare
the committed notebooks with a fresh build.

    python notebooks/build.py            # write notebooks/clinr1_colab.ipynb, clinr1_kaggle.ipynb
    python notebooks/build.py --check    # exit 1 if a committed notebook differs from its source
    python notebooks/build.py --badges   # the README badge markdown
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "src" / "clinr1.py"
# The repository the notebooks clone and install, and the badges open (one place to change).
REPO_URL = "https://github.com/clinr1/clinr1"
BRANCH = "main"

PLATFORMS: dict[str, dict] = {
    "colab": {
        "PLATFORM": "Colab",
        "SECRETS_HOW": "(the key icon in Colab's left bar; turn on notebook access)",
        "metadata": {
            "accelerator": "GPU",
            "colab": {"gpuType": "T4", "provenance": []},
        },
    },
    "kaggle": {
        "PLATFORM": "Kaggle",
        "SECRETS_HOW": "(Add-ons → Secrets in the notebook editor; attach it to this notebook)",
        "metadata": {
            "kaggle": {
                "accelerator": "nvidiaTeslaT4",
                "dataSources": [],
                "isGpuEnabled": True,
                "isInternetEnabled": True,
                "language": "python",
                "sourceType": "notebook",
            },
        },
    },
}
_PLACEHOLDER = re.compile(r"\{\{([A-Za-z_]+)\}\}")


def notebook_path(platform: str) -> Path:
    return HERE / f"clinr1_{platform}.ipynb"


def _blob_path(platform: str) -> str:
    owner_repo = REPO_URL.removeprefix("https://github.com/")
    return f"{owner_repo}/blob/{BRANCH}/notebooks/clinr1_{platform}.ipynb"


def badge(platform: str) -> str:
    """The "Open in Colab" / "Open in Kaggle" badge markdown for ``platform``'s notebook."""
    if platform == "colab":
        return (
            "[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{_blob_path('colab')})"
        )
    return (
        "[![Open in Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)]"
        f"(https://kaggle.com/kernels/welcome?src=https://github.com/{_blob_path('kaggle')})"
    )


def _fill(text: str, platform: str) -> str:
    values = {
        "platform": platform,
        "PLATFORM": PLATFORMS[platform]["PLATFORM"],
        "SECRETS_HOW": PLATFORMS[platform]["SECRETS_HOW"],
        "REPO_URL": REPO_URL,
        "BADGE": badge(platform),
    }

    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"{SOURCE.name}: unknown placeholder {{{{{key}}}}}")
        return values[key]

    return _PLACEHOLDER.sub(sub, text)


def build(platform: str) -> str:
    """The notebook for ``platform`` as the exact text written to disk."""
    import jupytext
    import nbformat

    source = jupytext.reads(SOURCE.read_text(encoding="utf-8"), fmt="py:percent")
    cells = []
    for cell in source.cells:
        tags = list(cell.metadata.get("tags", []))
        wanted = [t for t in tags if t in PLATFORMS]
        if wanted and platform not in wanted:
            continue
        text = _fill(cell.source, platform)
        cell_id = f"cell-{len(cells):02d}"
        if cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(text, id=cell_id)
        else:
            new = nbformat.v4.new_code_cell(text, id=cell_id)
        other_tags = [t for t in tags if t not in PLATFORMS]
        if other_tags:
            new.metadata["tags"] = other_tags
        cells.append(new)
    metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        **PLATFORMS[platform]["metadata"],
    }
    nb = nbformat.v4.new_notebook(cells=cells, metadata=metadata)
    nbformat.validate(nb)
    return nbformat.writes(nb, version=4) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    parser.add_argument("--badges", action="store_true", help="print the badge markdown")
    args = parser.parse_args(argv)
    if args.badges:
        print(" ".join(badge(p) for p in PLATFORMS))
        return 0
    stale = []
    for platform in PLATFORMS:
        path, text = notebook_path(platform), build(platform)
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        if args.check:
            stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(HERE.parent)}")
    if stale:
        print(f"out of date with {SOURCE.name}: {', '.join(stale)}; run `make notebooks`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
