"""/healthz, /metrics, the OpenAPI document and the Telegram webhook route."""

from __future__ import annotations

import json

from tests.http.conftest import WEBHOOK_SECRET, Api, paid, registered

UPDATE = {"update_id": 7, "message": {"message_id": 1, "date": 0, "text": "/balance",
                                      "chat": {"id": 501, "type": "private"},
                                      "from": {"id": 501, "is_bot": False, "first_name": "M"}}}


async def test_healthz_answers_without_a_signature(api: Api, backend: str) -> None:
    answer = await api.client.get("/healthz")

    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
    assert answer.json()["schema_version"] >= 7
    assert answer.json()["backend"] == backend


async def test_metrics_count_events_by_outcome_and_read_the_outbox(api: Api) -> None:
    await registered(api)
    await api.events(paid("p1", "PAY-1"), paid("p1", "PAY-1"), paid("p2", "PAY-2", amount="-1"))
    await api.client.get("/v1/shops/S-GB/status")  # unsigned: refused

    text = (await api.client.get("/metrics")).text

    lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    assert lines["deposit_events_applied_total"] == "3"
    assert lines["deposit_events_duplicate_total"] == "1"
    assert lines["deposit_events_rejected_total"] == "1"
    assert lines["deposit_http_refused_total"] == "1"
    assert lines["deposit_pushes_pending"] == "1"  # the payment's push waits in the outbox
    assert lines["deposit_holds_active"] == "0"
    for name in ("deposit_updates_handled_total", "deposit_handler_errors_total",
                 "deposit_pushes_sent_total", "deposit_pushes_failed_total"):
        assert name in lines
    assert "# TYPE deposit_events_applied_total counter" in text


async def test_the_openapi_document_describes_the_signed_routes(api: Api) -> None:
    doc = (await api.client.get("/openapi.json")).json()

    assert set(doc["paths"]) == {"/v1/events", "/v1/shops/{shop_id}/status", "/healthz",
                                 "/metrics"}
    events = doc["paths"]["/v1/events"]["post"]
    assert events["security"] == [{"timestamp": [], "signature": []}]
    assert set(events["requestBody"]["content"]) == {"application/json",
                                                     "application/x-ndjson"}
    assert {"401", "413", "400"} <= set(events["responses"])


async def test_a_webhook_update_with_the_secret_goes_to_the_application(api: Api) -> None:
    answer = await api.client.post("/telegram/hook", json=UPDATE, headers={
        "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})

    assert answer.status_code == 200
    assert api.updates == [UPDATE]


async def test_a_webhook_call_with_a_wrong_or_missing_secret_is_forbidden(api: Api) -> None:
    wrong = await api.client.post("/telegram/hook", json=UPDATE, headers={
        "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET + "x"})
    missing = await api.client.post("/telegram/hook", json=UPDATE)

    assert (wrong.status_code, missing.status_code) == (403, 403)
    assert api.updates == []


async def test_a_malformed_webhook_body_is_acknowledged_and_dropped(api: Api) -> None:
    """200, never 400: Telegram resends an update it got no 200 for, forever (issue #13)."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}

    broken = await api.client.post("/telegram/hook", content=b"{not json", headers=headers)
    no_id = await api.client.post("/telegram/hook", content=json.dumps({"x": 1}),
                                  headers=headers)

    assert (broken.status_code, no_id.status_code) == (200, 200)
    assert api.updates == []
