"""The shared HTTP layer: errors name method and path, never the query string or a token."""

from __future__ import annotations

import httpx
import pytest

from connectors import _http
from social_watch.errors import AuthError, ConnectorError, RateLimited, TransientError


def response(
    status: int, body: bytes = b"{}", headers: dict[str, str] | None = None
) -> httpx.Response:
    request = httpx.Request("GET", "https://api.example/v1/search?q=shop&access_token=tok-secret")
    return httpx.Response(status, content=body, headers=headers, request=request)


def test_a_body_that_is_not_json_names_method_and_path_only():
    with pytest.raises(ConnectorError) as exc:
        _http.json_body(response(200, b"<html>oops</html>"), connector="hn")
    assert str(exc.value) == "hn: GET /v1/search: response is not JSON"
    assert _http.json_body(response(200, b'{"hits": []}'), connector="hn") == {"hits": []}


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthError),
        (403, AuthError),
        (429, RateLimited),
        (503, TransientError),
        (404, ConnectorError),
    ],
)
def test_statuses_map_to_the_core_error_kinds_without_leaking_the_url(status, error):
    with pytest.raises(error) as exc:
        _http.check(response(status, headers={"retry-after": "30"}), connector="m")
    assert "tok-secret" not in str(exc.value) and "q=shop" not in str(exc.value)
    assert f"m: GET /v1/search → {status}" in str(exc.value)
