"""docs/model.md's parameter table is the code's: regenerating it changes nothing."""

from __future__ import annotations

from aqstudy.backends.model.pages import DOCS_END, DOCS_START, docs_table
from aqstudy.study.paths import PROJECT_ROOT


def test_the_docs_parameter_table_is_generated_from_the_code():
    text = (PROJECT_ROOT / "docs" / "model.md").read_text()
    table = text[text.index(DOCS_START) + len(DOCS_START):text.index(DOCS_END)]
    assert table.strip() == docs_table().strip(), "run: python -m aqstudy.backends.model.pages --docs"
