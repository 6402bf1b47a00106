"""Texts the follow-up engine writes (finding summaries and thresholds, status reasons) never name internal documents:
they are shown to clinicians, who have no "CLINICAL.md". Docstrings and comments may cite it."""

from __future__ import annotations

import ast
from pathlib import Path

import fusionwatch.followup as followup

INTERNAL = ("CLINICAL.md", "DESIGN.md", "STYLE.md")


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
        # attribute docstrings: a bare string right after an assignment
        body = getattr(node, "body", None)
        if isinstance(body, list):
            for prev, cur in zip(body, body[1:], strict=False):
                if isinstance(prev, (ast.Assign, ast.AnnAssign)) and isinstance(cur, ast.Expr) and isinstance(
                    cur.value, ast.Constant
                ):
                    ids.add(id(cur.value))
    return ids


def test_no_internal_document_name_in_any_followup_text() -> None:
    folder = Path(followup.__file__).parent
    hits = []
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstring_nodes(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                hits += [f"{path.name}:{node.lineno}: {node.value[:60]!r}" for name in INTERNAL if name in node.value]
    assert not hits, hits
    assert len(list(folder.glob("*.py"))) >= 9  # the walk saw the package
