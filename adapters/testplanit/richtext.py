"""TipTap/ProseMirror JSON (how TestPlanIt stores steps, expected results and notes) <-> canonical text.

Pure functions. ``to_canonical(from_canonical(t)) == t`` for canonical text ``t`` (the sync's echo guard).
Nodes we do not model (headings, blockquotes, code blocks, tables, images) are read as their text so no words
are lost. Text nodes carry their marks as a flat list (bold and italic on one node is ``***x***``); the marks
the editor can combine (bold, italic, underline, strike, code, link) map to canonical text through
:mod:`bridge.marks`, others (highlight, text colour) are read as plain text.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from bridge.marks import MARKS, SPECIAL_CHARS, Run, parse_inline, render_lines
from bridge.text import normalize_whitespace

_BULLET = re.compile(r"^- (.*)$")
_NUMBERED = re.compile(r"^\d+\. (.*)$")
_SPECIAL = re.compile(SPECIAL_CHARS)  # a character that may start a mark (see bridge.marks.parse_inline)


def parse_doc(value: Any) -> dict[str, Any] | None:
    """The document in a Json field: the UI stores a JSON *string*, the API also takes an object."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                doc = json.loads(text)
            except ValueError:
                return None
            return doc if isinstance(doc, dict) else None
    return None


def to_canonical(value: Any) -> str:
    """Canonical text of a TipTap document (object or JSON string); plain strings pass through.

    Short JSON strings (how the UI and the bridge store steps) are remembered, as
    :func:`bridge.text.html_to_canonical` remembers HTML: step texts and expected results repeat across a
    project's cases, and each reading parses the JSON and renders its marks. Documents given as objects are
    read each time (a dict is not hashable, and it could change)."""
    if value.__class__ is str and len(value) <= 2000:
        return _short_to_canonical(value)
    return _to_canonical(value)


@lru_cache(maxsize=8192)  # (at most 8,192 strings of 2,000 characters and their texts: a few MB)
def _short_to_canonical(value: str) -> str:
    return _to_canonical(value)


def _to_canonical(value: Any) -> str:
    """to_canonical without its memory."""
    if value is None:
        return ""
    doc = parse_doc(value)
    if doc is None:
        return normalize_whitespace(value if isinstance(value, str) else json.dumps(value))
    text = _plain_paragraph(doc)
    if text is not None:
        return normalize_whitespace(text) if text.strip() else ""
    return normalize_whitespace("\n\n".join(b for b in _blocks(doc.get("content") or []) if b.strip()))


def _plain_paragraph(doc: dict[str, Any]) -> str | None:
    """The text of a document that is one paragraph of one unmarked text node (what the bridge writes for a
    plain line, most steps), else None: the general reading of it, without its steps."""
    blocks = doc.get("content")
    if not isinstance(blocks, list) or len(blocks) != 1:
        return None
    block = blocks[0]
    nodes = block.get("content") if isinstance(block, dict) and block.get("type") == "paragraph" else None
    if not isinstance(nodes, list) or len(nodes) != 1:
        return None
    node = nodes[0]
    if not isinstance(node, dict) or node.get("type") != "text" or node.get("marks"):
        return None
    return str(node.get("text", ""))


def _blocks(nodes: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for node in nodes:
        kind = node.get("type")
        children = node.get("content") or []
        if kind in ("bulletList", "orderedList"):
            lines = []
            for i, item in enumerate(children, start=1):
                text = " ".join(b.replace("\n", " ") for b in _blocks(item.get("content") or []) if b)
                lines.append(f"{i}. {text}" if kind == "orderedList" else f"- {text}")
            out.append("\n".join(lines))
        elif kind == "codeBlock":
            out.append("`" + "".join(c.get("text", "") for c in children).strip() + "`")
        elif kind in ("blockquote", "listItem", "doc", "table", "tableRow", "tableCell", "tableHeader"):
            out.extend(_blocks(children))
        elif kind == "text" or kind == "hardBreak":
            out.append(_inline([node]))
        else:  # paragraph, heading and anything else holding inline content
            out.append(_inline(children))
    return out


def _inline(nodes: list[dict[str, Any]]) -> str:
    return render_lines(_node_runs(nodes))


def _node_runs(nodes: list[dict[str, Any]]) -> list[Run]:
    runs: list[Run] = []
    for node in nodes:
        kind = node.get("type")
        if kind == "hardBreak":
            runs.append(("\n", _PLAIN, None))
        elif kind == "text":
            text = str(node.get("text", ""))
            marks = node.get("marks")
            if not marks:
                runs.append((text, _PLAIN, None))
                continue
            kinds: set[str] = set()
            href = None
            for m in marks:
                name = m.get("type") if isinstance(m, dict) else None
                if name == "link":
                    url = (m.get("attrs") or {}).get("href")
                    href = url if isinstance(url, str) and url.strip() else None
                elif name in _KNOWN:
                    kinds.add(name)
            runs.append((text, frozenset(kinds), href))
        elif node.get("content"):
            runs.extend(_node_runs(node["content"]))
    return runs


_PLAIN: frozenset[str] = frozenset()
_KNOWN = frozenset(MARKS)


def from_canonical(text: str | None) -> dict[str, Any]:
    """A TipTap document for canonical text (an empty text is the editor's empty document)."""
    text = normalize_whitespace(text)
    if not text:
        return {"type": "doc", "content": [{"type": "paragraph"}]}
    if "\n" not in text and not _SPECIAL.search(text) and not _BULLET.match(text) and not _NUMBERED.match(text):
        # one line of plain text, most of them: what the general path below makes of it, without its steps
        return {"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]}
    content: list[dict[str, Any]] = []
    for block in text.split("\n\n"):
        lines = block.split("\n")
        if all(_BULLET.match(line) for line in lines):
            content.append(_list("bulletList", [_BULLET.match(line).group(1) for line in lines]))  # type: ignore[union-attr]
        elif all(_NUMBERED.match(line) for line in lines):
            content.append(_list("orderedList", [_NUMBERED.match(line).group(1) for line in lines]))  # type: ignore[union-attr]
        else:
            inline: list[dict[str, Any]] = []
            for i, line in enumerate(lines):
                if i:
                    inline.append({"type": "hardBreak"})
                inline.extend(_runs(line))
            content.append({"type": "paragraph", "content": inline} if inline else {"type": "paragraph"})
    return {"type": "doc", "content": content}


def _list(kind: str, items: list[str]) -> dict[str, Any]:
    node: dict[str, Any] = {
        "type": kind,
        "content": [{"type": "listItem", "content": [{"type": "paragraph", "content": _runs(i)}]} for i in items],
    }
    if kind == "orderedList":
        node["attrs"] = {"start": 1}
    return node


def _runs(line: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for text, marks, url in parse_inline(line):
        if not text:
            continue
        node: dict[str, Any] = {"type": "text", "text": text}
        mark_list: list[dict[str, Any]] = [{"type": m} for m in MARKS if m in marks]
        if url:
            mark_list.append({"type": "link", "attrs": {"href": url}})
        if mark_list:
            node["marks"] = mark_list
        nodes.append(node)
    return nodes


# json.dumps with an option builds an encoder per call
_DOC_JSON = json.JSONEncoder(ensure_ascii=False)


def to_json_string(text: str | None) -> str:
    """The document as the UI stores it in steps (a JSON string). Short texts are remembered: a create writes
    each text field once and checks it twice before (the same text becomes the same string)."""
    return _short_json_string(text) if text is None or len(text) <= 2000 else _DOC_JSON.encode(from_canonical(text))


@lru_cache(maxsize=1024)  # (at most 1,024 texts of 2,000 characters: a few MB)
def _short_json_string(text: str | None) -> str:
    return _DOC_JSON.encode(from_canonical(text))
