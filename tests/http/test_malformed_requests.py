"""Issue #13 items 6 and 13: malformed requests never cause a 500 or expose Python internals;
every 5xx is JSON; a request that did not commit can be retried as sent; the webhook answers
200 to a malformed update (Telegram would redeliver it forever) and logs it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bot.http.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER
from tests.http.conftest import WEBHOOK_SECRET, Api

FX = {"type": "fx.rate", "event_id": "fx-1", "occurred_at": "2026-11-21T10:00:00+08:00",
      "base": "GBP", "quote": "CNY", "rate": "9.12"}


@pytest.mark.parametrize("stamp", ["999999999999", "99999999999.999999999", "0", "1e9", "-5",
                                   " 1763690400", "nan", "inf"])
async def test_every_malformed_timestamp_is_a_401(api: Api, stamp: str) -> None:
    response = await api.post(json.dumps(FX).encode(), headers={TIMESTAMP_HEADER: stamp})

    assert response.status_code == 401, response.text
    assert set(response.json()) == {"error", "message"}


@pytest.mark.parametrize("signature", ["sha256=", "sha1=" + "0" * 40, "sha256=" + "g" * 64,
                                       "sha256=" + "0" * 65, "", "x" * 5000])
async def test_every_malformed_signature_is_a_401(api: Api, signature: str) -> None:
    response = await api.post(json.dumps(FX).encode(), headers={SIGNATURE_HEADER: signature})

    assert response.status_code == 401


async def test_a_5000_digit_number_is_refused_without_python_internals(api: Api) -> None:
    body = ('{"type":"fx.rate","event_id":"fx-9","occurred_at":"2026-11-21T10:00:00+08:00",'
            '"base":"GBP","quote":"CNY","rate":' + "9" * 5000 + "}").encode()

    response = await api.post(body)

    text = response.text
    assert response.status_code in (200, 400)
    assert "sys.set_int_max_str_digits" not in text and "4300" not in text
    assert "int_max_str_digits" not in text


async def test_an_error_after_signing_is_json_and_the_request_can_be_sent_again(
        api: Api, monkeypatch: Any) -> None:
    from bot.http import api as module

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database is locked")

    body = json.dumps(FX).encode()
    from bot.http.auth import signed_headers
    from tests.http.conftest import SECRET
    headers = {"Content-Type": "application/json",
               **signed_headers(SECRET, api.clock.now(), "POST", "/v1/events", body)}
    transport = httpx.ASGITransport(app=api.client._transport.app,  # type: ignore[attr-defined]
                                    raise_app_exceptions=False)
    client = httpx.AsyncClient(transport=transport, base_url="http://deposit.test")
    real = module.apply_batch
    monkeypatch.setattr(module, "apply_batch", broken)

    failed = await client.post("/v1/events", content=body, headers=headers)
    monkeypatch.setattr(module, "apply_batch", real)
    again = await client.post("/v1/events", content=body, headers=headers)

    assert failed.status_code == 500
    assert set(failed.json()) == {"error", "message"}
    assert "database is locked" not in failed.text
    assert again.status_code == 200, again.text
    assert again.json()["summary"] == {"applied": 1}


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"update_id": "x"}',
                                  b'{"update_id": 5, "message": {"chat": 7}}',
                                  b'{"update_id": 6, "callback_query": []}'])
async def test_the_webhook_answers_200_to_a_malformed_update(api: Api, body: bytes) -> None:
    from bot.http import webhook

    response = await api.client.post("/telegram/hook", content=body, headers={
        webhook.SECRET_HEADER: WEBHOOK_SECRET, "Content-Type": "application/json"})

    assert response.status_code == 200
