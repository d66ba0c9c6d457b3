"""Component ids of the shell and of the shared components (never built by string concatenation
elsewhere). Pages own ids under their own prefix: ``summary-``, ``metrics-``, ``data-``;
``upload-`` ids need the admin role and ``lab-`` ids the analyst role (enforced by the server's
callback guard in :mod:`dashapp.auth`).
"""
from __future__ import annotations

# --- shell (dashapp.layout)
MAIN = "main-content"
HEADER = "site-header"
NAV = "site-nav"

# --- chart card (dashapp.components.chart_card); pattern-matching types
CARD_DOWNLOAD = "card-download"            # dcc.Download   {"type": CARD_DOWNLOAD, "card": card_id}
CARD_DOWNLOAD_BUTTON = "card-download-button"
CARD_DATA = "card-data"                    # dcc.Store with the table (columns, rows, filename)


def card_download(card_id: str) -> dict:
    return {"type": CARD_DOWNLOAD, "card": card_id}


def card_download_button(card_id: str) -> dict:
    return {"type": CARD_DOWNLOAD_BUTTON, "card": card_id}


def card_data(card_id: str) -> dict:
    return {"type": CARD_DATA, "card": card_id}


def card_part(card_id: str, part: str) -> str:
    """String ids inside a card (tabs, panels, caption, graph): ``{card_id}--{part}``."""
    return f"{card_id}--{part}"


# --- area picker (dashapp.components.area_picker)
def area_scope(id_prefix: str) -> str:
    """The whole / 'A region or area' radio (values 'whole' | 'area')."""
    return f"{id_prefix}-scope"


def area_search(id_prefix: str) -> str:
    """The labelled text input with the datalist of areas ('Name (CODE)')."""
    return f"{id_prefix}-search"


def area_list(id_prefix: str) -> str:
    return f"{id_prefix}-areas"


# --- summary page
SUMMARY_BRIEFING = "summary-briefing"
SUMMARY_TABLE = "summary-table"

# --- metrics page
METRICS_BODY = "metrics-body"

# --- data page
UPLOAD_SOURCE = "upload-source"
UPLOAD_FILE = "upload-file"
UPLOAD_REPORT = "upload-report"
UPLOAD_PENDING = "upload-pending"
UPLOAD_LOAD = "upload-load"
UPLOAD_RESULT = "upload-result"
UPLOAD_CONFIRM = "upload-confirm-withdrawals"
