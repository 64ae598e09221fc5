"""The docs stay true: every linked page exists, and the prompt shown is the prompt used."""

from __future__ import annotations

import re
from pathlib import Path

from clinr1.prompts import system_prompt

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def test_every_linked_or_named_doc_page_exists() -> None:
    missing = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        # Markdown links to .md files, and pages named in the text (`docs/data.md`).
        targets = re.findall(r"\]\(([^)#]+\.md)(?:#[^)]*)?\)", text)
        targets += re.findall(r"`(docs/[\w.-]+\.md)`", text)
        for target in targets:
            if target.startswith("http"):
                continue
            base = REPO if target.startswith("docs/") else page.parent
            if not (base / target).is_file():
                missing.append(f"{page.relative_to(REPO)} -> {target}")
    assert not missing, missing


def test_the_evaluation_doc_shows_the_system_prompt_in_use() -> None:
    text = (REPO / "docs" / "evaluation.md").read_text(encoding="utf-8")
    assert f"```text\n{system_prompt('crpo')}\n```" in text
