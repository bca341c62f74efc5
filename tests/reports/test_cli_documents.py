"""``broadcaster report document | file | filings`` end to end, with the real CLI."""

from __future__ import annotations

import io
import re

import docx
import pypdf
from sqlalchemy import func, select

from broadcaster.db import transaction
from broadcaster.models import AdminUnit, ReportFiling
from broadcaster.reports import store
from broadcaster.services import users
from broadcaster.services.audit import system_actor
from tests.reports.documents import aired, scene_month


def _stored_id(output: str) -> int:
    return int(re.search(r"Đã lưu báo cáo số (\d+)", output).group(1))


def _docx_text(path) -> str:
    """Every paragraph's text, also inside tables (the heading is a two-column table)."""
    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts += [p.text for cell in row.cells for p in cell.paragraphs]
    return "\n".join(parts)


def _users(scene) -> None:
    with transaction(scene.factory) as s:
        actor = system_actor()
        users.add_user(s, actor, "chutich", "approver", "password1", scope=scene.unit)
        users.add_user(s, actor, "xakhac", "approver", "password1", scope=scene.extra["other"])
        users.add_user(s, actor, "kiemtra", "auditor", "password1", scope=scene.province)


def test_document_stored_rendered_filed_and_listed(scene, cli, tmp_path):
    aired(scene)
    period = scene_month(scene)
    with scene.factory() as s:
        scene.extra["other"] = s.scalar(
            select(func.min(AdminUnit.code)).where(
                AdminUnit.level == 2, AdminUnit.code != scene.unit
            )
        )
    _users(scene)
    difficulties = tmp_path / "kho-khan.txt"
    difficulties.write_text("Loa thôn 3 hỏng; <b>cần thay</b>.\n", encoding="utf-8")
    out = tmp_path / "bao-cao.docx"
    common = ("--period", "month", "--of", period.key, "--unit", scene.unit)
    # a signer is needed before anything is written or stored
    refused = cli("report", "document", *common, "-o", str(out), "--store")
    assert refused.exit_code == 2 and "--signer-name" in refused.output
    assert not out.exists()

    made = cli(
        "report",
        "document",
        *common,
        "--format",
        "docx",
        "-o",
        str(out),
        "--store",
        "--number",
        "12",
        "--symbol",
        "bc-ubnd",
        "--signer-name",
        "Nguyễn Văn An",
        "--difficulties-file",
        str(difficulties),
        "--user",
        "chutich",
        "--password",
        "password1",
    )
    assert made.exit_code == 0, made.output
    report_id = _stored_id(made.output)
    text = _docx_text(out)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Số: 12/BC-UBND" in text
    assert "Loa thôn 3 hỏng; <b>cần thay</b>." in text
    assert "Nguyễn Văn An" in text
    with scene.factory() as s:
        _info, body = store.get(s, report_id)
    assert body["document"]["difficulties"] == "Loa thôn 3 hỏng; <b>cần thay</b>."
    assert body["document"]["symbol"] == "BC-UBND"

    # the stored report rebuilt by its id: the same bytes every time, DOCX and PDF
    again = tmp_path / "lai.docx"
    assert cli("report", "document", "--id", str(report_id), "-o", str(again)).exit_code == 0
    assert again.read_bytes() == out.read_bytes()
    pdf = tmp_path / "bao-cao.pdf"
    made_pdf = cli("report", "document", "--id", str(report_id), "--format", "pdf", "-o", str(pdf))
    assert made_pdf.exit_code == 0, made_pdf.output
    pdf_text = "".join(
        p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.read_bytes())).pages
    )
    assert "BÁO CÁO" in pdf_text and "Nguyễn Văn An" in pdf_text
    verified = cli("report", "verify", str(report_id))
    assert verified.exit_code == 0, verified.output

    # another commune's official cannot file it; its own can, once
    other = cli("report", "file", str(report_id), "--user", "xakhac", "--password", "password1")
    assert other.exit_code == 2 and "ngoài phạm vi" in other.output
    auditor = cli("report", "file", str(report_id), "--user", "kiemtra", "--password", "password1")
    assert auditor.exit_code == 2
    filed = cli("report", "file", str(report_id), "--user", "chutich", "--password", "password1")
    assert filed.exit_code == 0, filed.output
    assert "lần 1" in filed.output and "hạn" in filed.output
    twice = cli("report", "file", str(report_id), "--user", "chutich", "--password", "password1")
    assert twice.exit_code == 2 and "đã nộp" in twice.output
    with scene.factory() as s:
        rows = s.scalars(select(ReportFiling)).all()
    assert [(r.report_id, r.unit_code, r.filed_by) for r in rows] == [
        (report_id, scene.unit, rows[0].filed_by)
    ]
    assert "chutich" in rows[0].filed_by

    listed = cli(
        "report",
        "filings",
        "--period",
        "month",
        "--of",
        period.key,
        "--unit",
        scene.province,
        "--user",
        "kiemtra",
        "--password",
        "password1",
    )
    assert listed.exit_code == 0, listed.output
    line = next(x for x in listed.output.splitlines() if x.startswith(scene.unit))
    state = "đúng hạn" if rows[0].on_time else "trễ hạn"
    assert state in line and str(report_id) in line
    assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", line)  # filed at, local time
    assert re.search(r"chưa nộp \d+ \(trên \d+ đơn vị\)", listed.output)
    outside = cli(
        "report",
        "filings",
        "--period",
        "month",
        "--of",
        period.key,
        "--unit",
        scene.province,
        "--user",
        "chutich",
        "--password",
        "password1",
    )
    assert outside.exit_code == 2  # a commune's official does not see the province's list

    # the province's own document aggregates what was filed
    province = tmp_path / "tinh.docx"
    made = cli(
        "report",
        "document",
        "--period",
        "month",
        "--of",
        period.key,
        "--unit",
        scene.province,
        "-o",
        str(province),
        "--store",
        "--signer-name",
        "Trần Thị Bình",
    )
    assert made.exit_code == 0, made.output
    with scene.factory() as s:
        _info, body = store.get(s, _stored_id(made.output))
    filings = body["document"]["filings"]
    assert [u["report_id"] for u in filings["units"]] == [report_id]
    assert filings["aggregate"]["on_time"] == 2


def test_document_refuses_bad_options(scene, cli, tmp_path):
    period = scene_month(scene)
    out = tmp_path / "x.docx"
    no_period = cli("report", "document", "--unit", scene.unit, "-o", str(out))
    assert no_period.exit_code == 2 and "--period" in no_period.output
    bad_symbol = cli(
        "report",
        "document",
        "--period",
        "month",
        "--of",
        period.key,
        "--unit",
        scene.unit,
        "-o",
        str(out),
        "--symbol",
        "BC.UBND",
        "--signer-name",
        "A",
    )
    assert bad_symbol.exit_code == 2 and "--symbol" in bad_symbol.output
    missing = cli("report", "document", "--id", "999", "-o", str(out))
    assert missing.exit_code == 2 and "999" in missing.output
    no_file = cli(
        "report",
        "document",
        "--period",
        "month",
        "--of",
        period.key,
        "--unit",
        scene.unit,
        "-o",
        str(out),
        "--signer-name",
        "A",
        "--proposals-file",
        str(tmp_path / "khong-co.txt"),
    )
    assert no_file.exit_code == 2 and "khong-co.txt" in no_file.output
    assert not out.exists()
