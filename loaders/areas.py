"""Areas in one store shared by every department, without mixing two departments' areas.

An area a file names by a GSS code (``E08000025``) or that a manifest declares is the same area
for everyone: that is what lets a driver from one department explain another's metric. An area
named only by a label is not: "Birmingham" in DfT's airport table is an airport, in a council
table a local authority. So:

* every area records the departments it belongs to (``area_owners``): those of the manifest that
  declared it, or of the source that first named it;
* a label another department already uses for its own area is kept apart, as
  ``"<department>:<label>"`` named "<label> (<department>)", and the load says so;
* labels are matched to GSS areas by name where the store knows those names (from an earlier
  load or a manifest), but only when most of a file's new labels match (at least
  :data:`NAME_MATCH_SHARE`, and 3): a table of councils, not one airport that shares a name;
* a manifest may not change the parent of an area another department declared
  (:func:`hierarchy_conflicts`); it is refused with a message naming both.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from . import schema as s
from .labels import normalise
from .sql import insert_if_absent
from .vocabulary import WHOLE_AREA

log = logging.getLogger(__name__)

#: ONS GSS codes: a letter for the nation (E, W, S, N, K for UK/GB, L and M for the Channel Islands and
#: the Isle of Man) and eight digits (entity code and instance: E06, E07, E08, E09, E10, E12, E92, W06, S12 …)
GSS = re.compile(r"[EWSNKLM]\d{8}")
#: share of a file's new labels that must match known GSS names before any is read as that GSS area
NAME_MATCH_SHARE = 0.8


def is_gss(code: str) -> bool:
    """True for a GSS code such as E08000025 (case and surrounding spaces as written)."""
    return GSS.fullmatch(code.strip()) is not None


def apart_code(department: str, label: str) -> str:
    """The code of a department's own area whose label another department already uses."""
    return f"{department}:{label}"


@dataclass
class AreaResolver:
    """Turns the area labels of one source's load into area ids (creating areas as needed).

    Decisions are made once per label and kept, so every chunk of a streamed file agrees; what
    was decided is in ``notes`` for the load summary."""

    department: str
    decided: dict[str, str] = field(default_factory=dict)  # label -> code
    match_names: bool | None = None  # whether this source's labels are read as GSS areas by name
    apart: list[str] = field(default_factory=list)
    matched: list[tuple[str, str]] = field(default_factory=list)

    def ids(self, conn: Connection, labels: Iterable[str], names: Mapping[str, str] | None = None) -> dict[str, int]:
        """label -> area id for every label (codes, declared names' codes or the department's own areas)."""
        labels = list(labels)
        names = names or {}
        rows = {r.code: r for r in conn.execute(select(s.areas.c.id, s.areas.c.code, s.areas.c.name,
                                                       s.areas.c.declared))}
        new = [label for label in labels if label not in self.decided]
        if new:
            owners = _owners(conn)
            undecided = [label for label in new if not self._settled(label, rows, owners)]
            if undecided:
                self._by_name(conn, undecided, rows)
                for label in undecided:
                    if label not in self.decided:
                        self._own(label, rows, owners)
            self._create(conn, new, rows, names)
        ids = {r.code: r.id for r in conn.execute(select(s.areas.c.code, s.areas.c.id))}
        return {label: ids[self.decided[label]] for label in labels}

    def _settled(self, label: str, rows: Mapping[str, Any], owners: Mapping[int, set[str]]) -> bool:
        """Decide the labels that need no name matching: the whole, GSS codes, declared areas and the
        department's own earlier areas (whose keys must not change between vintages)."""
        row = rows.get(label)
        if label == WHOLE_AREA or is_gss(label) or (row is not None and row.declared):
            self.decided[label] = label
            return True
        if row is not None and self.department in owners.get(row.id, {self.department}):
            self.decided[label] = label
            return True
        return False

    def _by_name(self, conn: Connection, labels: list[str], rows: Mapping[str, Any]) -> None:
        """Labels that are the names of GSS areas the store knows, when most of the source's are."""
        by_name: dict[str, list[str]] = {}
        for code, row in rows.items():
            if is_gss(code):
                by_name.setdefault(normalise(str(row.name)), []).append(code)
        unique = {name: codes[0] for name, codes in by_name.items() if len(codes) == 1}
        hits = {label: unique[normalise(label)] for label in labels if normalise(label) in unique}
        if self.match_names is None:
            self.match_names = len(hits) >= 3 and len(hits) >= NAME_MATCH_SHARE * len(labels)
        if self.match_names:
            for label, code in hits.items():
                self.decided[label] = code
                self.matched.append((label, code))

    def _own(self, label: str, rows: Mapping[str, Any], owners: Mapping[int, set[str]]) -> None:
        row = rows.get(label)
        if row is None or not owners.get(row.id):
            self.decided[label] = label  # new, or never claimed (a store from before owners were kept)
        else:
            self.decided[label] = apart_code(self.department, label)
            self.apart.append(label)

    def _create(self, conn: Connection, labels: list[str], rows: Mapping[str, Any],
                names: Mapping[str, str]) -> None:
        """Create the areas decided but absent, and record this department as owner of its labels."""
        fresh = []
        for label in labels:
            code = self.decided[label]
            if code in rows:
                continue
            name = names.get(label) or label
            if code != label and not is_gss(code):
                name = f"{name} ({self.department})"
            fresh.append(dict(code=code, name=name, level="", parent_id=None, declared=False))
        if fresh:
            insert_if_absent(conn, s.areas, fresh, ["code"])
            log.info("created %d undeclared areas", len(fresh))
        ids = {r.code: r.id for r in conn.execute(select(s.areas.c.code, s.areas.c.id))}
        owned = {self.decided[label] for label in labels if not is_gss(self.decided[label])
                 and self.decided[label] != WHOLE_AREA}
        claimed = [dict(area_id=ids[code], department_code=self.department) for code in sorted(owned)
                   if code in ids and not _declared(rows, code)]
        if claimed:
            _claim_unowned(conn, claimed)

    def notes(self) -> list[str]:
        """What the load should tell the user about its areas."""
        out = []
        if self.apart:
            shown = ", ".join(f"'{label}'" for label in self.apart[:6]) + (" …" if len(self.apart) > 6 else "")
            out.append(f"{len(self.apart)} area label(s) of {self.department} are also another department's areas: "
                       f"{shown}. They are kept apart as {self.department}'s own (code "
                       f"'{apart_code(self.department, self.apart[0])}', named '{self.apart[0]} ({self.department})'); "
                       "give GSS codes, or declare them as [[area]] in the manifest, to say they are shared areas.")
        if self.matched:
            shown = ", ".join(f"'{label}' = {code}" for label, code in self.matched[:6])
            more = " …" if len(self.matched) > 6 else ""
            out.append(f"{len(self.matched)} area name(s) were matched to the GSS areas of the same name the store "
                       f"knows: {shown}{more}.")
        return out


def _declared(rows: Mapping[str, Any], code: str) -> bool:
    row = rows.get(code)
    return bool(row is not None and row.declared)


def _owners(conn: Connection) -> dict[int, set[str]]:
    owners: dict[int, set[str]] = {}
    for row in conn.execute(select(s.area_owners)):
        owners.setdefault(row.area_id, set()).add(row.department_code)
    return owners


def _claim_unowned(conn: Connection, claims: list[dict[str, object]]) -> None:
    """Record owners for areas that have none yet (an area keeps its first owners)."""
    owned = set(_owners(conn))
    insert_if_absent(conn, s.area_owners, [c for c in claims if c["area_id"] not in owned],
                     ["area_id", "department_code"])


def claim_declared(conn: Connection, codes: Iterable[str], departments: Iterable[str]) -> None:
    """The departments of the manifest that first declared these areas own them."""
    ids = {r.code: r.id for r in conn.execute(select(s.areas.c.code, s.areas.c.id))}
    _claim_unowned(conn, [dict(area_id=ids[code], department_code=dept) for code in codes if code in ids
                          and code != WHOLE_AREA for dept in sorted(set(departments))])


def hierarchy_conflicts(conn: Connection, declared: Iterable[tuple[str, str | None]],
                        departments: Iterable[str]) -> list[str]:
    """Problems for declared (code, parent) pairs that would change the parent of an area another
    department declared (one message per area: what each says and what to do)."""
    mine = set(departments)
    parent = s.areas.alias("parent")
    rows = {r.code: r for r in conn.execute(
        select(s.areas.c.id, s.areas.c.code, s.areas.c.declared, parent.c.code.label("parent"))
        .select_from(s.areas.outerjoin(parent, s.areas.c.parent_id == parent.c.id)))}
    owners = _owners(conn)
    problems = []
    for code, wanted in declared:
        row = rows.get(code)
        if row is None or not row.declared:
            continue
        theirs = owners.get(row.id, set())
        if not theirs or theirs & mine or (row.parent or None) == (wanted or None):
            continue
        problems.append(
            f"area '{code}' is declared by the manifest of {', '.join(sorted(theirs))} with parent "
            f"'{row.parent or 'none'}', and this manifest ({', '.join(sorted(mine)) or 'no department'}) gives it "
            f"parent '{wanted or 'none'}'. Areas are shared by every department, so one manifest cannot change "
            "another's hierarchy: use the same parent, or give your own area a different code.")
    return problems
