"""How labels in published tables are matched: case, spaces and footnote markers do not matter
(``TOTAL`` = ``Total``; ``Education (6)`` = ``Education``), and which labels mean "all of them".

Why: government tables put their published totals in the same column as the areas or categories
("Column Total", "Reporting airports total", "England", "United Kingdom"). Read as one more area,
such a row doubles the whole; read as the whole, it is the department's own published total, and
the gap to the sum of the areas can be reported.
"""
from __future__ import annotations

import re
from typing import Iterable

import pandas as pd

#: footnote and note markers around a label: "[note 3]", "[x]", "(1)", "(a)", "*", "†", trailing digits
#: glued by a superscript in the source ("Education6" is left alone: too often part of a name)
_MARKERS = re.compile(r"\s*(\[[^\]]{0,20}\]|\((?:\d{1,2}|[a-z])\)|[*†‡§¶]+)\s*", re.IGNORECASE)

#: labels that always mean "all of them" in an area or category column (after normalising)
TOTAL_WORDS = frozenset({"total", "totals", "grand total", "column total", "row total", "all", "all areas",
                         "overall", "sum"})
#: names and GSS codes of the countries and the UK: in a column of areas below them (regions, local
#: authorities, airports, forces), a row for one of these is the published total, unless the manifest
#: declares it as an area of its hierarchy
COUNTRY_TOTALS = frozenset({"england", "united kingdom", "uk", "great britain", "england and wales",
                            "e92000001", "k02000001", "k03000001", "k04000001"})


def normalise(label: object) -> str:
    """A label as matching sees it: footnote markers dropped, spaces collapsed, case folded."""
    text = "" if label is None else str(label)
    return " ".join(_MARKERS.sub(" ", text).split()).casefold()


def strip_markers(label: str) -> str:
    """A label as it is stored: footnote markers dropped and spaces collapsed, case kept."""
    return " ".join(_MARKERS.sub(" ", label).split())


def strip_series(labels: pd.Series) -> pd.Series:
    """:func:`strip_markers` over a column, each distinct label once (files repeat few labels)."""
    return labels.map({label: strip_markers(label) for label in pd.unique(labels)})


def is_total(normalised: str, configured: Iterable[str] = (), *, countries: bool = False) -> bool:
    """Whether a normalised label means "all of them": one of the manifest's ``total_values``, an
    obvious total word (or a label starting or ending with "total"), or, for area columns
    (``countries``), a country or the UK."""
    if not normalised:
        return False
    if normalised in TOTAL_WORDS or any(normalised == normalise(v) for v in configured):
        return True
    if normalised.startswith("total ") or normalised.endswith(" total") or normalised.endswith(" totals"):
        return True
    return countries and normalised in COUNTRY_TOTALS


def total_mask(labels: pd.Series, configured: Iterable[str] = (), *, countries: bool = False,
               declared: Iterable[str] = ()) -> pd.Series:
    """True for the rows whose label means "all of them"; labels the manifest declares as areas
    (their codes or names, normalised) never do. Each distinct label is judged once."""
    known = {normalise(d) for d in declared}
    configured = tuple({normalise(v) for v in configured})  # normalised once, not once per label
    verdict = {label: (n := normalise(label)) not in known and is_total(n, configured, countries=countries)
               for label in pd.unique(labels)}
    return labels.map(verdict).astype(bool)
