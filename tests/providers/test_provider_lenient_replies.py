"""Provider replies are parsed leniently: fields postdeck does not know are kept (in `raw`), tokens are not."""

from __future__ import annotations

import json

import httpx

from postdeck.providers.late import LateClient
from postdeck.providers.postforme import PostForMeClient

PFM_POST = {
    "id": "sp_abc",
    "external_id": "pd_1",
    "caption": "hi",
    "status": "scheduled",
    "scheduled_at": "2030-01-01T10:00:00+00:00",
    "brand_new_field": {"nested": 1},
    "social_accounts": [
        {
            "id": "spc_1",
            "platform": "x",
            "username": "a",
            "access_token": "tok-secret",
            "refresh_token": "ref-secret",
        }
    ],
}
LATE_POST = {
    "_id": "65f1c0ffee0000000000abcd",
    "content": "hi",
    "status": "scheduled",
    "scheduledFor": "2030-01-01T10:00:00.000Z",
    "newThing": [1, 2],
    "platforms": [{"platform": "twitter", "accountId": "65f1c0ffee0000000000aaaa", "status": "pending"}],
}


def client(cls, reply: dict):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=reply)

    return cls(
        api_key="k",
        base_url="https://provider.test",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )


def test_postforme_keeps_unknown_fields_and_drops_platform_tokens() -> None:
    outcome = client(PostForMeClient, PFM_POST).get("sp_abc")
    assert outcome.raw["brand_new_field"] == {"nested": 1}
    assert "tok-secret" not in json.dumps(outcome.raw) and "ref-secret" not in json.dumps(outcome.raw)
    assert outcome.raw["social_accounts"][0]["username"] == "a"


def test_late_keeps_unknown_fields() -> None:
    outcome = client(LateClient, {"post": LATE_POST}).get("65f1c0ffee0000000000abcd")
    assert outcome.raw["newThing"] == [1, 2] and outcome.provider_post_id == LATE_POST["_id"]
