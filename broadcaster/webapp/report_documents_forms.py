"""The official report's draft form: its fields, checked, and shown again as typed.

The period and the unit come from the reports' filters (:mod:`reports_filters`: the
unit picker and the period lists, no codes typed); a document is for a month, a
quarter, a half or a year, never a custom range (it has no deadline to file by).
The document's own fields are the names of
:class:`broadcaster.services.reports.drafts.DocumentDraft`; each is first cleaned
here (control and direction characters are an error beside the field, never a
database error), then read by :func:`drafts.parse_draft`, whose
:class:`~broadcaster.errors.InvalidInput` is shown beside its field. What was typed
is always shown again, never lost to an error.
"""

from __future__ import annotations

import re
from datetime import date

from flask import current_app
from flask_babel import gettext as _

from broadcaster.errors import BroadcasterError
from broadcaster.services.reports import drafts
from broadcaster.webapp.common import FormErrors, beside, field
from broadcaster.webapp.common import settings as _settings
from broadcaster.webapp.reports_filters import Query, parse_query

TEXT_FIELDS = (
    "issuer_parent",
    "issuer_name",
    "number",
    "symbol",
    "place",
    "date",
    "summary",
    "signer_title",
    "signer_name",
)
LINE_FIELDS = ("signer_authority", "recipients")
NARRATIVE_FIELDS = ("difficulties", "proposals")
DRAFT_FIELDS = TEXT_FIELDS + LINE_FIELDS + NARRATIVE_FIELDS
NARRATIVE_MAX = 30_000
SHOWN_MAX = 40_000  # what a field shows again at most (the form's own limit is below)
LIMITS = {"summary": 500, "recipients": 4_000, "signer_authority": 1_000}


def today() -> date:
    """Vietnam's today; tests fix it through the dashboard's ``TODAY_KEY``, as there."""
    from broadcaster.webapp.dashboard import TODAY_KEY  # the dashboard imports this package

    return current_app.config.get(TODAY_KEY) or _settings().today()


def document_query(args) -> Query:
    """The unit and period of a document; a custom range is an error beside the kind."""
    if (args.get("kind") or "month") == "custom":
        raise FormErrors({"kind": _("Báo cáo theo thể thức lập cho tháng, quý, 6 tháng hoặc năm.")})
    return parse_query(args)


def values_of(draft: drafts.DocumentDraft) -> dict[str, str]:
    """The form's values for a draft (lists one per line, the date as YYYY-MM-DD)."""
    values = {name: getattr(draft, name) for name in DRAFT_FIELDS}
    values["signer_authority"] = "\n".join(draft.signer_authority)
    values["recipients"] = "\n".join(draft.recipients)
    values["date"] = draft.date.isoformat()
    return {k: str(v) for k, v in values.items()}


def typed_values(form) -> dict[str, str]:
    """What was typed in the document's fields, to show again exactly (escaped by Jinja)."""
    return {name: (form.get(name) or "")[:SHOWN_MAX] for name in DRAFT_FIELDS}


def read_draft(form) -> drafts.DocumentDraft:
    """The draft in ``form``; raises FormErrors naming each bad field."""
    errors: dict[str, str] = {}
    clean: dict[str, str] = {}
    for name in DRAFT_FIELDS:
        multiline = name not in TEXT_FIELDS
        limit = NARRATIVE_MAX if name in NARRATIVE_FIELDS else LIMITS.get(name, 200)
        clean[name] = field(form, name, max_length=limit, multiline=multiline, errors=errors)
    if errors:
        raise FormErrors(errors)
    try:
        return drafts.parse_draft(clean)
    except BroadcasterError as exc:
        raise FormErrors(beside(exc, DRAFT_FIELDS, "summary")) from None


def filename(body: dict, fmt: str, *, preview: bool = False) -> str:
    """``bao-cao-<unit>-<period>.<fmt>`` (ASCII only, safe in a header)."""
    unit = body["scope"]["unit"]
    key = re.sub(r"[^0-9A-Za-z.-]+", "_", body["period"]["key"])
    who = unit["code"] if unit else "toan-quoc"
    return f"bao-cao-{who}-{key}{'-xem-truoc' if preview else ''}.{fmt}"
