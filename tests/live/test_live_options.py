"""Live-mode options: from options or the environment, one-line errors, no secret shown."""

from __future__ import annotations

import pytest

from conformance.live import KALTURA_CLOSE_WAIT, live_target
from conformance.options import OptionError

SECRET = "0123456789abcdef0123456789abcdef"
URL = "http://127.0.0.1:8080"


def test_no_url_means_no_live_mode_whatever_else_is_set() -> None:
    assert live_target({"partner_id": "5", "admin_secret": SECRET}, environ={}) is None


def test_options_win_over_the_environment() -> None:
    env = {"KALTURA_SERVICE_URL": "http://127.0.0.1:1", "KALTURA_PARTNER_ID": "7"}
    target = live_target({"service_url": URL + "/", "admin_secret": SECRET}, environ=env)
    assert target is not None
    assert (target.service_url, target.partner_id) == (URL, 7)
    assert target.close_wait == KALTURA_CLOSE_WAIT
    assert not target.slow_closes


def test_everything_can_come_from_the_environment() -> None:
    env = {"KALTURA_SERVICE_URL": URL, "KALTURA_KS": "djJ8MTIzfA=="}
    target = live_target({}, environ=env)
    assert target is not None
    assert target.ks == "djJ8MTIzfA=="
    assert target.partner_id is None


def test_secrets_never_show_in_repr_or_description() -> None:
    target = live_target(
        {"service_url": URL, "partner_id": "5", "admin_secret": SECRET, "ks": "the-ks"},
        environ={},
    )
    assert target is not None
    for text in (repr(target), target.describe()):
        assert SECRET not in text
        assert "the-ks" not in text


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"service_url": "ftp://x"}, "--kaltura-service-url='ftp://x': an http(s) URL"),
        ({"service_url": URL}, "--kaltura-service-url needs --kaltura-admin-secret"),
        ({"service_url": URL, "admin_secret": SECRET}, "--kaltura-admin-secret needs"),
        (
            {"service_url": URL, "ks": "k", "partner_id": "x1"},
            "--kaltura-partner-id='x1': a positive integer",
        ),
        ({"service_url": URL, "ks": "k", "max_rps": "-1"}, "--kaltura-max-rps=-1.0: must be > 0"),
        ({"service_url": URL, "ks": "k", "close_wait": "700"}, "--kaltura-close-wait=700"),
    ],
)
def test_a_wrong_option_is_one_line_naming_it(given: dict[str, str], message: str) -> None:
    with pytest.raises(OptionError) as raised:
        live_target(given, environ={})
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)
    assert SECRET not in str(raised.value)
