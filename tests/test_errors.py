"""Errors as data: a message id, its parameters and its field, rendered by each shell."""

from __future__ import annotations

from datetime import date

import click
from click.testing import CliRunner

from broadcaster.cli import _Group, _naming_flags, flag_for
from broadcaster.errors import InvalidInput, Words

ENGLISH = {
    "Ngày kết thúc {ends_on:%d/%m/%Y} trước {label}.": (
        "End date {ends_on:%Y-%m-%d} is before {label}."
    ),
    "ngày bắt đầu": "the start date",
    "Hỏng {a}.": "Broken {b}.",
}


def test_the_message_is_vietnamese_with_its_parameters_filled():
    exc = InvalidInput(
        "Ngày kết thúc {ends_on:%d/%m/%Y} trước {label}.",
        field="ends_on",
        ends_on=date(2026, 2, 1),
        label=Words("ngày bắt đầu"),
    )
    assert exc.message == str(exc) == "Ngày kết thúc 01/02/2026 trước ngày bắt đầu."
    assert exc.field == "ends_on"


def test_a_translation_formats_its_own_way_and_translates_words_in_parameters():
    exc = InvalidInput(
        "Ngày kết thúc {ends_on:%d/%m/%Y} trước {label}.",
        ends_on=date(2026, 2, 1),
        label=Words("ngày bắt đầu"),
    )
    assert (
        exc.render(lambda s: ENGLISH.get(s, s)) == "End date 2026-02-01 is before the start date."
    )


def test_a_translation_with_other_placeholders_falls_back_to_the_vietnamese():
    exc = InvalidInput("Hỏng {a}.", a=1)
    assert exc.render(lambda s: ENGLISH.get(s, s)) == "Hỏng 1."


def test_braces_in_a_message_without_parameters_are_kept():
    assert InvalidInput("Mẫu {tên} để nguyên").message == "Mẫu {tên} để nguyên"


def test_the_cli_names_the_flag_of_the_field():
    @click.group(cls=_Group)
    def main():
        pass

    @main.command()
    @click.option("--to", "ends_on")
    @click.argument("slug")
    def edit(ends_on, slug):
        raise InvalidInput("Ngày kết thúc sai.", field="ends_on" if ends_on else "slug")

    _naming_flags(edit)
    assert flag_for(edit, "ends_on") == "--to" and flag_for(edit, "nothing") is None
    by_option = CliRunner().invoke(main, ["edit", "--to", "x", "a"])
    assert by_option.exit_code == 2
    assert by_option.output.strip() == "Lỗi: Ngày kết thúc sai. (--to)"
    by_argument = CliRunner().invoke(main, ["edit", "a"])
    assert by_argument.output.strip() == "Lỗi: Ngày kết thúc sai. (SLUG)"
