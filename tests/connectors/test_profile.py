"""Target profiles refuse unsafe transport unless told, and say so when told."""

from __future__ import annotations

import logging
import ssl

import pytest

from connectors import TargetProfile, open_client
from connectors._profile import ProfileError


def _profile(**settings: object) -> TargetProfile:
    return TargetProfile.from_config(
        "prod", {"vendor": "octanist", "api_key_env": "LEADPIPE_TEST_KEY", **settings}
    )


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ProfileError, match="plain http for octanist.com.*allow_http = true"):
        _profile(base_url="http://octanist.com/api")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8900/octanist/api", "http://localhost:8900", "http://[::1]:80"]
)
def test_plain_http_to_loopback_is_fine(url: str) -> None:
    assert _profile(base_url=url).base_url == url


def test_plain_http_can_be_allowed_explicitly() -> None:
    assert _profile(base_url="http://crm.internal/api", allow_http=True).allow_http


def test_not_a_url_is_refused() -> None:
    with pytest.raises(ProfileError, match="is not a URL"):
        _profile(base_url="octanist.com/api")


def _verify_mode(profile: TargetProfile) -> ssl.VerifyMode:
    client = open_client(profile)
    pool = client.http._client._transport._pool  # type: ignore[attr-defined]
    mode: ssl.VerifyMode = pool._ssl_context.verify_mode
    return mode


def test_tls_is_verified_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADPIPE_TEST_KEY", "k")
    assert _verify_mode(_profile()) == ssl.CERT_REQUIRED


def test_turning_tls_verification_off_is_explicit_and_warned(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LEADPIPE_TEST_KEY", "k")
    with caplog.at_level(logging.WARNING, logger="connectors._profile"):
        profile = _profile(verify_tls=False)
    assert "TLS certificate verification is OFF" in caplog.text
    assert _verify_mode(profile) == ssl.CERT_NONE
