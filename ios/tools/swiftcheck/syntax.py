"""Parsing Swift with tree-sitter, and the syntax check.

A file fails the syntax check if its tree has any ERROR or MISSING node;
each is reported as file:line:col (1-based).

The tree-sitter-swift grammar (0.7.4) rejects two valid constructs that
UniFFI 0.32.2 emits. In *generated* code only, exactly those patterns are
blanked with spaces of the same length before parsing, so line and column
numbers stay true:

1. ``@_documentation(visibility: private)`` on its own line directly inside
   ``#if swift(>=5.8)`` ... ``#endif``;
2. ``let writeReturn = { () }``.

Hand-written code gets no allowance: the same text there is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import tree_sitter_swift
from tree_sitter import Language, Node, Parser

SWIFT = Language(tree_sitter_swift.language())

_DOC_ATTR = re.compile(
    r"(?m)^([ \t]*#if swift\(>=5\.8\)[ \t]*\n[ \t]*)"
    r"(@_documentation\(visibility: private\))"
    r"([ \t]*\n[ \t]*#endif)"
)
_WRITE_RETURN = re.compile(r"let writeReturn = \{ \(\) \}")


@dataclass
class Issue:
    path: str
    line: int  # 1-based
    col: int  # 1-based
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


@dataclass
class SwiftFile:
    path: str  # as shown in messages
    source: bytes
    tree: object
    generated: bool
    blanked: int = 0  # how many allowance patterns were blanked

    @property
    def root(self) -> Node:
        return self.tree.root_node

    def text(self, node: Node) -> str:
        return self.source[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def issue(self, node: Node, message: str) -> Issue:
        row, col = node.start_point
        # tree-sitter columns are bytes; good enough for ASCII Swift.
        return Issue(self.path, row + 1, col + 1, message)


def blank_generated(text: str) -> tuple[str, int]:
    """Blanks the two allowed patterns (generated code only)."""

    def keep_lines(m: re.Match) -> str:
        return m.group(1) + " " * len(m.group(2)) + m.group(3)

    text, n1 = _DOC_ATTR.subn(keep_lines, text)
    text, n2 = _WRITE_RETURN.subn(lambda m: " " * len(m.group(0)), text)
    return text, n1 + n2


def parse(path: str, text: str, generated: bool = False) -> SwiftFile:
    blanked = 0
    if generated:
        text, blanked = blank_generated(text)
    source = text.encode("utf-8")
    tree = Parser(SWIFT).parse(source)
    return SwiftFile(path, source, tree, generated, blanked)


def syntax_issues(f: SwiftFile, limit: int = 20) -> list[Issue]:
    """Every ERROR and MISSING node (up to `limit`)."""
    out: list[Issue] = []
    stack = [f.root]
    while stack and len(out) < limit:
        node = stack.pop()
        if node.is_missing:
            out.append(f.issue(node, f"syntax error: missing {node.type!r}"))
            continue
        if node.is_error:
            snippet = f.text(node).strip().splitlines()[0][:60] if f.text(node).strip() else ""
            out.append(f.issue(node, f"syntax error near {snippet!r}"))
            continue
        if node.has_error:
            stack.extend(reversed(node.children))
    out.sort(key=lambda i: (i.line, i.col))
    return out
