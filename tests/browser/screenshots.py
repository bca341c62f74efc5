"""Take the admin's screenshots for docs/screenshots (run by hand after changing pages):

    .venv/bin/python -m tests.browser.screenshots [--out docs/screenshots]

It builds the demo world (:mod:`tests.browser.demo`) in a temporary SQLite
database, serves it as ``broadcaster serve`` does and shoots each main page with Debian's
chromium at 1366×768, and the dashboard at phone width.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from broadcaster.db import make_engine, make_sessionmaker, migrate, transaction
from broadcaster.services.audit import system_actor
from broadcaster.services.stations import import_stations
from broadcaster.services.units import import_units
from broadcaster.webapp import create_app
from tests.agent.live import FrontServer
from tests.browser import demo
from tests.browser.conftest import CHROMIUM_ARGS, SCREENSHOTS, _find_chromium
from tests.web.conftest import PASSWORD, add_web_users, web_settings

# (file name, user, path): the pages a reader of the README should see
SHOTS = [
    ("login", None, "/login"),
    ("dashboard", "kiemtra", "/dashboard/"),
    ("scripts", "duyet", "/scripts/"),
    ("script-editor", "bientap", "/scripts/new"),
    ("script", "duyet", "/scripts/{slug}"),
    ("script-recorded", "duyet", "/scripts/{recorded}"),
    ("script-recording", "bientap", "/scripts/{recorded}/recording"),
    ("campaigns", "duyet", "/campaigns/"),
    ("campaign-calendar", "duyet", "/campaigns/{campaign}"),
    ("emergency-new", "duyet", "/emergency/new"),
    ("stations", "quantri", "/stations/?unit=42"),
    ("station", "quantri", "/stations/18073"),
    ("airings", "kiemtra", "/airings/"),
    ("confirm", "daixa", "/airings/confirm"),
    ("reports", "kiemtra", "/reports/compliance"),
    ("users", "quantri", "/users/"),
    ("audit", "quantri", "/audit/"),
]


def _recorded_script(factory, settings, folder: Path) -> str:
    """A recorded reading, submitted: a phone's quiet 11 kHz file, so the warnings show."""
    import subprocess

    from broadcaster.audio._ffmpeg import ffmpeg_exe
    from broadcaster.services import recordings, scripts, users

    source = folder / "doc-thong-bao.m4a"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi",
         "-i", "sine=frequency=220:sample_rate=11025:duration=8",
         "-af", "tremolo=f=3:d=0.6,volume=-30dB", "-c:a", "aac", str(source)],
        check=True,
    )  # fmt: skip
    slug = "doc-thong-bao-tiem-phong"
    with transaction(factory) as s:
        editor = users.authenticate(s, "bientap", PASSWORD)
        recordings.create_recorded_script(
            s,
            slug,
            source,
            filename=source.name,
            audio_dir=settings.audio_dir,
            actor=editor,
            title="Thông báo tiêm phòng dại (chủ tịch xã đọc)",
            unit="42",
            transcript="Kính thưa bà con nhân dân! Tuần này xã tổ chức tiêm phòng dại cho "
            "chó mèo tại nhà văn hóa các thôn, từ 7 giờ đến 11 giờ sáng.",
            audio=settings.audio,
        )
        scripts.submit(s, editor, slug)
    return slug


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SCREENSHOTS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="broadcaster-shots-"))
    url = f"sqlite:///{folder / 'broadcaster.db'}"
    engine = make_engine(url)
    migrate(engine)
    factory = make_sessionmaker(engine)
    actor = system_actor()
    with transaction(factory) as s:
        import_units(s, actor, "Hà Tĩnh")
        import_stations(s, actor, "Hà Tĩnh")
    add_web_users(factory, actor)
    settings = web_settings(url, folder)
    made = demo.build(factory, settings.tz)
    names = {
        "slug": made["slugs"][0],
        "campaign": made["campaigns"][0],
        "recorded": _recorded_script(factory, settings, folder),
    }
    server = FrontServer(create_app(settings))
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=_find_chromium(), args=CHROMIUM_ARGS
            )
            sessions: dict[str | None, object] = {}
            for name, user, path in SHOTS:
                if user not in sessions:
                    context = browser.new_context(
                        viewport={"width": 1366, "height": 768}, locale="vi-VN"
                    )
                    page = context.new_page()
                    if user:
                        page.goto(server.url + "/login")
                        page.fill("#username", user)
                        page.fill("#password", PASSWORD)
                        page.click("#login-submit")
                        page.wait_for_url(lambda u: "/login" not in u)
                    sessions[user] = page
                page = sessions[user]
                page.goto(server.url + path.format(**names))
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(args.out / f"{name}.png"), full_page=False)
                print(f"{name}.png  {path.format(**names)}")
            phone = browser.new_context(
                viewport={"width": 390, "height": 844}, is_mobile=True, locale="vi-VN"
            ).new_page()
            phone.goto(server.url + "/login")
            phone.fill("#username", "daixa")
            phone.fill("#password", PASSWORD)
            phone.click("#login-submit")
            phone.wait_for_url(lambda u: "/login" not in u)
            phone.wait_for_load_state("networkidle")
            phone.screenshot(path=str(args.out / "dashboard-phone.png"), full_page=True)
            print("dashboard-phone.png")
            browser.close()
    finally:
        server.stop()
        engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
