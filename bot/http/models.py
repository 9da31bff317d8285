"""Request and response bodies of the HTTP API, as pydantic models (they make the OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

OutcomeName = Literal["applied", "already applied", "conflict", "rejected"]
RestrictionName = Literal["ok", "short", "not_paid", "overdue", "cleared", "closed"]


class Problem(BaseModel):
    """Every error answer: a stable code and a sentence for the person reading the logs."""

    error: str = Field(examples=["unauthorized"])
    message: str = Field(examples=["signature does not match"])


class EventOutcome(BaseModel):
    """What became of one event of the request."""

    index: int = Field(description="0-based position among the events of the request")
    line: int = Field(description="1-based line of the body the event was on")
    event_id: str | None
    type: str | None
    outcome: OutcomeName
    field: str | None = Field(None, description="the field a rejection or conflict names")
    reason: str | None = None


class IngestAnswer(BaseModel):
    """Per-event outcomes, in request order, and how many of each."""

    results: list[EventOutcome]
    summary: dict[str, int] = Field(examples=[{"applied": 2, "rejected": 1}])


class Category(BaseModel):
    """A category that counts toward the required amount, and why it counts."""

    category: str
    tier: str
    amount: str
    in_scope: bool
    live_listings: int
    unfinished_orders: list[str]
    known: bool = Field(description="false: the policy does not know it, so it counts as "
                                    "high_risk")


class Required(BaseModel):
    """The required amount and its explanation (SPEC §3)."""

    amount: str = Field(examples=["1000.00"])
    tier: str
    by_default: bool = Field(description="no category counts: the market's standard tier")
    set_by: list[Category] = Field(description="the categories at the highest tier")
    counted: list[Category]
    drops_on: datetime | None = Field(description="when the pinning orders should finish")
    drops_to: str | None


class Hold(BaseModel):
    """One withdrawal keeping money in withdrawal."""

    withdrawal_id: str
    amount: str
    status: Literal["held", "confirmed"]
    kind: str
    releases_at: datetime | None = Field(description="end of the 2-hour hold; null once "
                                                     "confirmed (held until paid or failed)")


class Restriction(BaseModel):
    """The SPEC §6 state and the effects the platform enforces."""

    state: RestrictionName
    shortfall_since: datetime | None
    can_publish: bool
    can_publish_new: bool
    can_bind_creators: bool
    delist_risk: bool
    other_markets_limited: bool
    clearing: bool


class ShopStatus(BaseModel):
    """Every figure of the deposit page (SPEC §1) for one shop; amounts are decimal strings."""

    model_config = ConfigDict(json_schema_extra={"description": "amounts in `currency`"})

    shop_id: str
    market: str
    currency: str
    shop_status: Literal["open", "closed"]
    as_of: datetime
    balance: str
    required: Required
    shortfall: str
    withdrawable: str
    in_withdrawal: str
    holds: list[Hold]
    arrears: dict[str, str] = Field(examples=[{"commission": "12.50"}])
    arrears_total: str
    restriction: Restriction
    can_publish: bool
    can_publish_new: bool
    can_bind_creators: bool
    delist_risk: bool


class Health(BaseModel):
    """The service is up and its database answers."""

    status: Literal["ok"]
    backend: Literal["sqlite", "postgres"]
    schema_version: int
    leader: bool = True  # this instance runs the jobs and sends the pushes
    instance: str = ""  # host:pid
    integrity: str = "ok"  # the start's integrity check (the bot does not start otherwise)
