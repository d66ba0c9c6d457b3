"""JSON records into a table: finding the list of records, flattening, naming columns.

Used for local ``format = "json"`` files and by the HTTP reader. Cells are returned as the JSON
gave them, except that nested objects are flattened to ``parent.child`` columns, lists become
JSON text and booleans "true"/"false" (so a boolean is never mistaken for the number 1 later).
Columns are the union of the records' keys in order of first appearance; ``header_row`` is 0
and ``first_row`` counts records from 1.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from loaders.errors import LimitError, ReadError
from loaders.limits import Limits, setting

from .base import ReadOptions, RowGuard, Source, TableChunk, TableInfo, chunks_from_rows
from .header import Where, clean_name, name_key, plan_columns


def dig(doc: Any, path: str) -> Any:
    """Follow a dotted path; a missing key gives None (used for next_path, where absent = last page)."""
    node = doc
    for key in path.split("."):
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


def describe(value: Any) -> str:
    """A short description of a JSON value for messages."""
    if isinstance(value, dict):
        keys = ", ".join(f"'{k}'" for k in list(value)[:20]) or "none"
        return f"an object with keys {keys}"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    if value is None:
        return "null"
    kind = {bool: "true/false", str: "a string", int: "a number", float: "a number"}.get(type(value), type(value).__name__)
    return f"{kind} ({repr(value)[:40]})"


def nesting_depth(doc: Any, stop: int) -> int:
    """Levels of nested lists/objects in a parsed document (a scalar: 0), counted without recursion
    and only up to ``stop + 1`` (enough to tell that it is over ``stop``)."""
    deepest = 0
    stack = [(doc, 1)] if isinstance(doc, (dict, list)) else []
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > stop:
            return depth
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def too_deep(origin: str, limits: Limits, depth: int | None = None) -> LimitError:
    """The message for JSON (or TOML) nested deeper than ``limits.max_nesting``."""
    levels = f"more than {limits.max_nesting:,} levels" if depth is not None else "hundreds of levels"
    return LimitError(
        f"{origin} nests lists or objects {levels} deep, over the limit of {limits.max_nesting:,} levels. "
        f"Real data is nested a few levels deep; check that this is the right file or URL. If it is, raise "
        f"{setting('max_nesting')} where whytrend runs."
    )


def parse_json(body: bytes, origin: str, content_type: str | None, limits: Limits | None = None) -> Any:
    """The JSON document in a body, or a ReadError that shows what came instead (one paragraph,
    also for JSON nested deeper than ``limits.max_nesting``, which the json module cannot even parse
    when it is deep enough)."""
    limits = limits or Limits.from_env()
    try:
        doc = json.loads(body)
    except RecursionError:
        raise too_deep(origin, limits) from None
    except ValueError:
        start = body[:60].decode("utf-8", "replace").strip()
        kind = f" (Content-Type {content_type})" if content_type else ""
        raise ReadError(
            f"{origin} is not JSON{kind}; it starts with {start!r}. "
            "Check the url, or set format = \"csv\" if the source is CSV."
        ) from None
    depth = nesting_depth(doc, limits.max_nesting)
    if depth > limits.max_nesting:
        raise too_deep(origin, limits, depth)
    return doc


def records_at(doc: Any, path: str | None, origin: str) -> list[Any]:
    """The list of records at ``records_path``; errors say which key is missing and what is there."""
    node = doc
    if path:
        parts = path.split(".")
        for i, key in enumerate(parts):
            here = f"'{'.'.join(parts[:i])}'" if i else "the top level"
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                raise ReadError(
                    f"Key '{key}' of records_path '{path}' not found in {origin}: {here} is {describe(node)}. "
                    "Set records_path in the manifest to the key that holds the list of records."
                )
    if isinstance(node, list):
        return node
    lists = [k for k, v in node.items() if isinstance(v, list)] if isinstance(node, dict) else []
    at = f"at '{path}'" if path else "at the top level"
    hint = (f' Set records_path = "{".".join(filter(None, [path, lists[0]]))}" in the manifest.' if lists
            else " Check records_path in the manifest.")
    raise ReadError(f"Expected a list of records {at} of {origin}, but it is {describe(node)}.{hint}")


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects become ``parent.child`` fields."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = _cell(value)
    return flat


def records_table(
    records: list[dict[str, Any]], options: ReadOptions, location: str, sha256: str | None
) -> tuple[TableInfo, Iterator[TableChunk]]:
    """Rows and columns (union of keys, in order of first appearance) from flattened records."""
    where = Where(location)
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record))
    names = list(keys)
    warnings: list[str] = []
    if not records:
        names = [clean_name(c) for c in options.expected_columns]
        warnings.append(f"{location} has no records.")
    present = {name_key(n) for n in names}
    missing = [c for c in options.expected_columns if name_key(c) not in present]
    if missing:
        raise ReadError(
            f"Fields {', '.join(repr(m) for m in missing)} not found in the records of {location}; the records have: "
            f"{', '.join(repr(n) for n in names[:30])}. Check the column names in the manifest."
        )
    guard = RowGuard(where, options.limits)
    if len(names) > guard.limits.max_columns:
        raise LimitError(
            f"The records of {location} have {len(names):,} different fields, over the limit of "
            f"{guard.limits.max_columns:,} columns. Check records_path in the manifest and that this is the right "
            f"source; if it is, raise {setting('max_columns')} where whytrend runs."
        )
    rows = []
    for number, record in enumerate(records, start=1):
        row = [record.get(name) for name in names]
        guard.add(row, number)
        rows.append(row)
    plan = plan_columns(names, rows, width=len(names), expected=options.expected_columns, where=where, header_row=0)
    info = TableInfo(location=location, sheet=None, header_row=0, columns=tuple(plan.columns), notes=(),
                     warnings=tuple(warnings + plan.warnings), sha256=sha256)
    return info, chunks_from_rows(rows, plan.positions, plan.columns, 1, options.chunk_rows)


def objects(items: list[Any], origin: str) -> list[dict[str, Any]]:
    out = []
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ReadError(
                f"Record {i} of {origin} is {describe(item)}, not an object with named fields. "
                "Check records_path in the manifest."
            )
        out.append(flatten(item))
    return out


def read_json(location: str, options: ReadOptions) -> tuple[TableInfo, Iterator[TableChunk]]:
    """Reader for local ``format = "json"`` files (records at ``records_path``; no pagination)."""
    source = Source.from_path(location, options.limits)
    with source.open() as handle:
        body = handle.read(options.limits.max_file_bytes + 1)  # the size was checked; a growing file stops here
    doc = parse_json(body, source.name, None, options.limits)
    records = objects(records_at(doc, options.records_path, source.name), source.name)
    return records_table(records, options, source.name, None)
