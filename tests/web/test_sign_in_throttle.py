"""The sign-in throttle: one person cannot lock others out (issue: ten wrong guesses a
minute from anyone behind an office's NAT once refused every official's right password).

Failures count per account and address together (the person's own: five a minute, then
wait), per address (ten: wrong passwords get 429, a right one still signs in), and per
account (ten from anywhere: a browser that never signed in to it waits, the official's
own browser does not)."""

from __future__ import annotations

from tests.web.conftest import PASSWORD, csrf_of, text

OFFICE = "203.0.113.7"  # one NAT address for a whole commune office
ELSEWHERE = "198.51.100.20"


def _sign_in(web, username: str, password: str, address: str, client=None):
    client = client or web.app.test_client()
    token = csrf_of(client.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(True))
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def test_a_persons_own_failures_make_them_wait(web):
    statuses = [_sign_in(web, "bientap", "sai", OFFICE).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert _sign_in(web, "bientap", PASSWORD, OFFICE).status_code == 429  # a minute, even right
    # the same account from elsewhere, and other accounts from the office, are not held
    assert _sign_in(web, "bientap", PASSWORD, ELSEWHERE).status_code == 302
    assert _sign_in(web, "duyet", PASSWORD, OFFICE).status_code == 302


def test_failures_from_a_shared_address_never_refuse_a_right_password(web, caplog):
    for name in ("x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10"):
        assert _sign_in(web, name, "sai", OFFICE).status_code == 401
    wrong = _sign_in(web, "kiemtra", "sai", OFFICE)
    assert wrong.status_code == 429 and "chờ một phút" in text(wrong)
    with caplog.at_level("WARNING", logger="broadcaster.webapp.auth"):
        right = _sign_in(web, "duyet", PASSWORD, OFFICE)  # the approver with a storm warning
    assert right.status_code == 302
    assert "despite many failures (address)" in caplog.text


def test_an_account_under_attack_waits_only_for_browsers_it_never_used(web):
    own = web.app.test_client()
    assert _sign_in(web, "duyet", PASSWORD, OFFICE, client=own).status_code == 302
    own.post("/logout", data={"csrf_token": csrf_of(own.get("/login").get_data(True))})
    for n in range(10):  # a guesser spread over many addresses
        assert _sign_in(web, "duyet", "sai", f"192.0.2.{n + 1}").status_code == 401
    stranger = _sign_in(web, "duyet", PASSWORD, "192.0.2.200")
    assert stranger.status_code == 429 and "đã từng đăng nhập" in text(stranger)
    assert _sign_in(web, "duyet", PASSWORD, OFFICE, client=own).status_code == 302


def test_a_forged_device_cookie_is_ignored(web):
    for n in range(10):
        _sign_in(web, "duyet", "sai", f"192.0.2.{n + 1}")
    forged = web.app.test_client()
    forged.set_cookie("bkd", "WzFd.forged.signature")
    assert _sign_in(web, "duyet", PASSWORD, "192.0.2.201", client=forged).status_code == 429


def test_a_nul_in_the_name_is_a_wrong_sign_in_not_an_error(web):
    own = web.app.test_client()  # a browser with a remembered account: its cookie is read
    assert _sign_in(web, "duyet", PASSWORD, OFFICE, client=own).status_code == 302
    for name in ("duyet\x00", "\x00"):
        assert _sign_in(web, name, "sai", OFFICE, client=own).status_code == 401


def test_a_wrong_password_is_told_in_the_readers_language(web):
    client = web.app.test_client()
    web.post(client, "/lang", {"lang": "en"})
    answer = _sign_in(web, "bientap", "sai", OFFICE, client=client)
    assert answer.status_code == 401
    assert "Wrong user name or password." in text(answer)
