"""POST /v1/events: per-event outcomes, mixed batches, idempotency, nothing of a rejection."""

from __future__ import annotations

from typing import Any

from tests.http.conftest import Api, event, paid, registered


def outcomes(answer: Any) -> list[tuple[str | None, str, str | None]]:
    return [(r["event_id"], r["outcome"], r["field"]) for r in answer.json()["results"]]


async def status(api: Api, shop_id: str = "S-GB") -> dict[str, Any]:
    answer = await api.get(f"/v1/shops/{shop_id}/status")
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def test_a_mixed_batch_reports_every_line_and_applies_only_the_good_ones(api: Api) -> None:
    await registered(api)
    body = b"\n".join([
        b'{"type":"payment.confirmed","event_id":"p1","occurred_at":"2026-11-21T10:00:00+08:00",'
        b'"shop_id":"S-GB","payment_ref":"PAY-1","amount":"300.00","currency":"GBP"}',
        b'{"type":"payment.confirmed","event_id":"p2","occurred_at":"2026-11-21T10:00:00+08:00",'
        b'"shop_id":"S-GB","payment_ref":"PAY-2","amount":"50.00","currency":"USD"}',
        b"",
        b'{"type":"payment.confirmed", broken',
        b'{"type":"payment.confirmed","event_id":"p1","occurred_at":"2026-11-21T10:00:00+08:00",'
        b'"shop_id":"S-GB","payment_ref":"PAY-1","amount":"300.00","currency":"GBP"}',
        b'{"type":"payment.confirmed","event_id":"p3","occurred_at":"2026-11-21T10:00:00+08:00",'
        b'"shop_id":"S-GB","payment_ref":"PAY-1","amount":"300.00","currency":"GBP"}',
        b'{"type":"listing.changed","event_id":"l1","occurred_at":"2026-11-21T10:00:00+08:00",'
        b'"shop_id":"S-GB","category":"electronics","live_listings":-1}',
    ])

    answer = await api.post(body, content_type="application/x-ndjson")

    assert answer.status_code == 200, answer.text
    assert outcomes(answer) == [
        ("p1", "applied", None), ("p2", "rejected", "currency"), (None, "rejected", "event"),
        ("p1", "already applied", None), ("p3", "rejected", "payment_ref"),
        ("l1", "rejected", "live_listings")]
    assert [r["line"] for r in answer.json()["results"]] == [1, 2, 4, 5, 6, 7]
    assert [r["index"] for r in answer.json()["results"]] == [0, 1, 2, 3, 4, 5]
    assert answer.json()["summary"] == {"applied": 1, "rejected": 4, "already applied": 1}
    shop = await status(api)
    assert shop["balance"] == "300.00"
    assert shop["required"]["amount"] == "500.00"


async def test_a_resent_event_is_already_applied_and_changed_content_is_a_conflict(
        api: Api) -> None:
    await registered(api)
    await api.events(paid("p1", "PAY-1"))

    again = await api.events(paid("p1", "PAY-1"))
    changed = await api.events(paid("p1", "PAY-1", amount="3000.00"))

    assert outcomes(again) == [("p1", "already applied", None)]
    assert outcomes(changed) == [("p1", "conflict", "event_id")]
    assert (await status(api))["balance"] == "300.00"


async def test_a_rejected_event_names_field_and_reason_and_changes_nothing(api: Api) -> None:
    await registered(api)

    answer = await api.events(paid("p1", "PAY-1", amount="-5"))

    result = answer.json()["results"][0]
    assert (result["outcome"], result["field"], result["reason"]) == (
        "rejected", "amount", "must be positive")
    assert (await status(api))["balance"] == "0.00"


async def test_an_unknown_shop_is_rejected(api: Api) -> None:
    answer = await api.events(paid("p1", "PAY-1", shop_id="NOPE"))

    assert outcomes(answer) == [("p1", "rejected", "shop_id")]


async def test_pushes_are_delivered_after_something_was_applied(api: Api) -> None:
    await registered(api)
    api.pushes.clear()

    await api.events(paid("p1", "PAY-1", amount="-1"))
    rejected_only = list(api.pushes)
    await api.events(paid("p2", "PAY-2"))

    assert rejected_only == []
    assert api.pushes == ["deliver"]


async def test_status_explains_required_and_gives_the_enforced_booleans(api: Api) -> None:
    await registered(api)
    await api.events(
        event("order.updated", "o1", order_id="GB-1", category="electronics", status="open"),
        paid("p1", "PAY-1", amount="600.00"))

    shop = await status(api)

    assert shop["shop_id"] == "S-GB" and shop["currency"] == "GBP"
    assert shop["required"]["amount"] == "2000.00"
    assert shop["required"]["tier"] == "high_risk"
    assert shop["required"]["set_by"][0]["category"] == "electronics"
    assert shop["required"]["set_by"][0]["unfinished_orders"] == ["GB-1"]
    assert (shop["shortfall"], shop["withdrawable"], shop["in_withdrawal"]) == (
        "1400.00", "0.00", "0.00")
    assert shop["restriction"]["state"] == "short"
    assert (shop["can_publish"], shop["can_publish_new"], shop["can_bind_creators"],
            shop["delist_risk"]) == (True, False, True, False)


async def test_status_of_an_unpaid_shop_forbids_publishing_and_binding(api: Api) -> None:
    await registered(api)

    shop = await status(api)

    assert shop["restriction"]["state"] == "not_paid"
    assert (shop["can_publish"], shop["can_bind_creators"]) == (False, False)


async def test_status_of_an_unknown_shop_is_404(api: Api) -> None:
    answer = await api.get("/v1/shops/NOPE/status")

    assert answer.status_code == 404
    assert answer.json() == {"error": "not_found", "message": "unknown shop 'NOPE'"}


async def test_status_lists_arrears_by_kind(api: Api) -> None:
    await registered(api)
    await api.events(event("arrears.updated", "a1", kind="commission", amount="12.5",
                           currency="GBP"))

    shop = await status(api)

    assert shop["arrears"] == {"commission": "12.50"}
    assert shop["arrears_total"] == "12.50"


async def test_contact_email_over_http_is_checked_and_a_bad_one_rejected_naming_it(
        api: Api) -> None:
    """shop.registered's optional contact_email (an addition to SPEC §9) on POST /v1/events."""
    from tests.bot.conftest import shop_events

    shop = {**shop_events("S-GB")[0], "occurred_at": "2026-11-21T10:00:00+08:00"}

    bad = await api.events({**shop, "event_id": "r1", "contact_email": "finance@acme"})
    good = await api.events({**shop, "event_id": "r2", "contact_email": "finance@acme.example"})

    result = bad.json()["results"][0]
    assert (result["outcome"], result["field"]) == ("rejected", "contact_email")
    assert "e-mail address" in result["reason"]
    assert outcomes(good) == [("r2", "applied", None)]
