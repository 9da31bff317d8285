"""Signatures, clock skew, replay, body size and malformed bodies on the real app."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

from bot.http.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, signed_headers
from tests.http.conftest import SECRET, Api, open_api, paid, registered

BODY = json.dumps(paid("p1", "PAY-1")).encode()


async def balance(api: Api) -> str:
    return str((await api.get("/v1/shops/S-GB/status")).json()["balance"])


async def test_a_correctly_signed_event_is_applied(api: Api) -> None:
    await registered(api)

    answer = await api.post(BODY)

    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["outcome"] == "applied"
    assert await balance(api) == "300.00"


async def test_a_wrong_signature_is_refused_and_nothing_is_applied(api: Api) -> None:
    await registered(api)
    forged = sign("another-secret", str(int(api.clock.now().timestamp())), "POST", "/v1/events",
                  BODY)

    answer = await api.post(BODY, headers={SIGNATURE_HEADER: forged})

    assert answer.status_code == 401
    assert answer.json() == {"error": "unauthorized", "message": "signature does not match"}
    assert await balance(api) == "0.00"


async def test_a_signature_over_another_body_or_path_is_refused(api: Api) -> None:
    await registered(api)
    stamp = str(int(api.clock.now().timestamp()))
    other_body = sign(SECRET, stamp, "POST", "/v1/events", BODY.replace(b"300", b"900"))
    other_path = sign(SECRET, stamp, "POST", "/v1/other", BODY)

    first = await api.post(BODY, headers={SIGNATURE_HEADER: other_body})
    second = await api.post(BODY, headers={SIGNATURE_HEADER: other_path})

    assert (first.status_code, second.status_code) == (401, 401)
    assert await balance(api) == "0.00"


async def test_missing_headers_are_named(api: Api) -> None:
    no_signature = await api.client.post("/v1/events", content=BODY,
                                         headers={TIMESTAMP_HEADER: "1"})
    nothing = await api.client.get("/v1/shops/S-GB/status")

    assert no_signature.status_code == 401
    assert SIGNATURE_HEADER in no_signature.json()["message"]
    assert nothing.status_code == 401
    assert TIMESTAMP_HEADER in nothing.json()["message"]


async def test_a_malformed_signature_header_is_refused(api: Api) -> None:
    answer = await api.post(BODY, headers={SIGNATURE_HEADER: "md5=abc"})

    assert answer.status_code == 401
    assert "sha256=" in answer.json()["message"]


async def test_a_replayed_request_is_refused(api: Api) -> None:
    await registered(api)
    headers = signed_headers(SECRET, api.clock.now(), "POST", "/v1/events", BODY)
    send = {"Content-Type": "application/json", **headers}

    first = await api.client.post("/v1/events", content=BODY, headers=send)
    api.clock.advance_to(api.clock.now() + timedelta(seconds=30))
    again = await api.client.post("/v1/events", content=BODY, headers=send)

    assert first.status_code == 200
    assert again.status_code == 401
    assert "replayed" in again.json()["message"]


async def test_a_replay_is_refused_after_a_restart(api: Api) -> None:
    await registered(api)
    send = {"Content-Type": "application/json",
            **signed_headers(SECRET, api.clock.now(), "POST", "/v1/events", BODY)}
    assert (await api.client.post("/v1/events", content=BODY, headers=send)).status_code == 200
    await api.client.aclose()
    await api.deps.db.close()

    restarted = await open_api(api.deps.db.path, api.clock)
    try:
        again = await restarted.client.post("/v1/events", content=BODY, headers=send)
    finally:
        await restarted.client.aclose()
        await restarted.deps.db.close()

    assert again.status_code == 401


async def test_requests_more_than_five_minutes_off_are_refused(api: Api) -> None:
    await registered(api)
    now = api.clock.now()
    late = signed_headers(SECRET, now - timedelta(seconds=301), "POST", "/v1/events", BODY)
    early = signed_headers(SECRET, now + timedelta(seconds=301), "POST", "/v1/events", BODY)
    fine = signed_headers(SECRET, now - timedelta(seconds=299), "POST", "/v1/events", BODY)

    answers = [await api.post(BODY, headers=h) for h in (late, early, fine)]

    assert [a.status_code for a in answers] == [401, 401, 200]
    assert "5 minutes" in answers[0].json()["message"]


async def test_the_window_follows_the_bots_clock(api: Api) -> None:
    await registered(api)
    signed_then = signed_headers(SECRET, api.clock.now(), "POST", "/v1/events", BODY)
    api.clock.advance_to(api.clock.now() + timedelta(minutes=6))

    answer = await api.post(BODY, headers=signed_then)

    assert answer.status_code == 401


async def test_a_body_over_the_limit_is_refused_with_413(api: Api) -> None:
    big = json.dumps({**paid("p1", "PAY-1"), "padding": "x" * 70_000}).encode()

    answer = await api.post(big)

    assert answer.status_code == 413
    assert answer.json()["error"] == "too_large"


async def test_a_streamed_body_without_length_is_cut_at_the_limit(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 1024

    answer = await api.client.post("/v1/events", content=chunks(),
                                   headers={"Content-Type": "application/x-ndjson"})

    assert answer.status_code == 413


async def test_malformed_json_is_a_400_with_the_parser_message(api: Api) -> None:
    answer = await api.post(b'{"type": "payment.confirmed",')

    assert answer.status_code == 400
    assert answer.json()["error"] == "malformed"
    assert "not valid JSON" in answer.json()["message"]


async def test_an_empty_body_and_a_foreign_content_type_are_refused(api: Api) -> None:
    empty = await api.post(b"")
    xml = await api.post(b"<event/>", content_type="application/xml")

    assert empty.status_code == 400
    assert xml.status_code == 415


async def test_status_needs_a_signature_over_its_own_path(api: Api) -> None:
    await registered(api)
    other = signed_headers(SECRET, api.clock.now(), "GET", "/v1/shops/S-XX/status")

    refused = await api.client.get("/v1/shops/S-GB/status", headers=other)
    fine = await api.get("/v1/shops/S-GB/status")

    assert refused.status_code == 401
    assert fine.status_code == 200


async def test_fractional_timestamps_let_identical_requests_in_one_second_through(
        api: Api) -> None:
    await registered(api)
    stamp = int(api.clock.now().timestamp())
    answers = []
    for fraction in (".1", ".2"):
        ts = f"{stamp}{fraction}"
        answers.append(await api.post(BODY, headers={
            TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(SECRET, ts, "POST", "/v1/events",
                                                         BODY)}))

    assert [a.json()["results"][0]["outcome"] for a in answers] == ["applied",
                                                                     "already applied"]
