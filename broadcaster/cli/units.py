"""``broadcaster units``: the administrative unit tree (đơn vị hành chính)."""

from __future__ import annotations

import click

from broadcaster.cli.context import AppContext, echo_json, echo_table, pass_app, progress_bar
from broadcaster.services import units as svc
from broadcaster.services.audit import system_actor


@click.group("units")
def units_group() -> None:
    """Đơn vị hành chính: tỉnh/thành phố → xã/phường/đặc khu."""


@units_group.command("import")
@click.option("--province", help="Chỉ nạp một tỉnh: tên (có/không dấu) hoặc mã, ví dụ 'Ha Tinh'.")
@pass_app
def import_cmd(app: AppContext, province: str | None) -> None:
    """Nạp danh mục chính thức (34 tỉnh, 3.321 xã); chạy lại an toàn."""
    total = svc.official_total(province)
    with app.session() as session, progress_bar(total, "Nạp đơn vị hành chính") as bar:
        result = svc.import_units(session, system_actor(), province, progress=bar.update)
    click.echo(
        f"{result.provinces} tỉnh/thành phố, {result.communes} xã/phường/đặc khu: "
        f"thêm {result.created}, cập nhật {result.updated}, giữ nguyên {result.unchanged}."
    )


@units_group.command("list")
@click.option("--parent", help="Mã hoặc tên đơn vị cha; bỏ trống: các tỉnh/thành phố.")
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def list_cmd(app: AppContext, parent: str | None, as_json: bool) -> None:
    """Liệt kê đơn vị hành chính."""
    with app.session() as session:
        rows = svc.list_units(session, parent)
    if as_json:
        echo_json(rows)
        return
    echo_table(["Mã", "Tên", "Loại"], [(u.code, u.name, u.kind) for u in rows])
    click.echo(f"({len(rows)} đơn vị)")


def register(main: click.Group) -> None:
    main.add_command(units_group)
