"""The LATE / Zernio simulator's HTTP side: the `/api` edge (auth, X-RateLimit-*, X-Request-Id,
injected errors), the routes over `LateSim` (late_state), and the fault layer around it all."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from postdeck.sandbox.faults import FaultLayer, admin_routes
from postdeck.sandbox.late_state import SANDBOX_LATE_KEY, SIM_PLATFORMS, UUID_PATTERN, LateSim, Reply

# --- HTTP ----------------------------------------------------------------------------------------


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return _INVALID


_INVALID = object()


class _ApiEdge:
    """What every /api response goes through: auth, the rate limit, injected errors, the headers."""

    def __init__(self, app: ASGIApp, sim: LateSim) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        sent_id = headers.get("x-request-id", "")
        request_id = sent_id if UUID_PATTERN.match(sent_id) else str(uuid.uuid4())  # a valid one is reused
        authorization = headers.get("authorization", "")
        limit, remaining, reset, allowed = self.sim._count_request(authorization)
        extra = [
            (b"x-ratelimit-limit", str(limit).encode()),
            (b"x-ratelimit-remaining", str(remaining).encode()),
            (b"x-ratelimit-reset", str(reset).encode()),
            (b"x-request-id", request_id.encode()),
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        if not self.sim._authorized(authorization):
            await JSONResponse({"error": "Unauthorized"}, 401)(scope, receive, send_with_headers)
            return
        if not allowed:
            retry_after = max(reset - int(time.time()), 1)
            body = {
                "error": "Rate limit exceeded",
                "details": {"limit": limit, "remaining": 0, "reset": reset},
            }
            reply = JSONResponse(body, 429, headers={"Retry-After": str(retry_after)})
            await reply(scope, receive, send_with_headers)
            return
        self.sim.advance()
        injected = self.sim._take_injected()
        if injected is not None:
            if injected.after_processing:

                async def discard(message: Message) -> None:
                    return None

                await self.app(scope, receive, discard)
            reply = JSONResponse({"error": "Internal server error", "type": "api_error"}, injected.status)
            await reply(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def create_app(sim: LateSim) -> FaultLayer:
    """The ASGI app serving `sim` under /api/v1 (plus the presigned-upload and /_sim admin routes)."""

    def params(request: Request) -> dict[str, str]:
        return dict(request.query_params)

    async def profiles(request: Request) -> Response:
        return sim.list_profiles().response()

    async def accounts(request: Request) -> Response:
        return sim.list_accounts(params(request)).response()

    def base(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    async def connect(request: Request) -> Response:
        return sim.connect_url(request.path_params["platform"], params(request), base(request)).response()

    async def users(request: Request) -> Response:
        return sim.list_users().response()

    async def bluesky(request: Request) -> Response:
        body = await _json_body(request)
        return sim.connect_bluesky(None if body is _INVALID else body).response()

    async def authorize(request: Request) -> Response:
        """The platform's consent screen, accepted at once: back to redirect_url like Zernio does."""
        platform = request.path_params["platform"]
        done = sim.complete_connect(platform, request.query_params.get("state", ""))
        if isinstance(done, Reply):
            return done.response()
        account, redirect = done
        query = urlencode(
            {
                "connected": platform,
                "profileId": sim.profile["_id"],
                "accountId": account["_id"],
                "username": account["username"],
            }
        )
        if redirect:
            return RedirectResponse(f"{redirect}{'&' if '?' in redirect else '?'}{query}", status_code=302)
        return JSONResponse(dict(parse_qsl(query)))

    async def presign(request: Request) -> Response:
        body = await _json_body(request)
        base = f"{request.url.scheme}://{request.url.netloc}"
        return sim.presign(None if body is _INVALID else body, base).response()

    async def upload(request: Request) -> Response:
        data = await request.body()
        return sim.receive_upload(
            request.path_params["key"],
            request.query_params.get("X-Amz-Signature", ""),
            request.headers.get("content-type", ""),
            data,
        )

    async def publish_after_delay(post_id: str, status: int, message: str) -> Response:
        if sim.publish_delay:
            await asyncio.sleep(sim.publish_delay)  # the synchronous cross-platform publish
        return sim.finish_publish(post_id, success_status=status, success_message=message).response()

    async def posts(request: Request) -> Response:
        if request.method == "GET":
            return sim.list_posts(params(request)).response()
        body = await _json_body(request)
        result = sim.begin_create(None if body is _INVALID else body, request.headers.get("x-request-id"))
        if isinstance(result, Reply):
            return result.response()
        return await publish_after_delay(result, 201, "Post published successfully")

    async def post_detail(request: Request) -> Response:
        post_id = request.path_params["post_id"]
        if request.method == "GET":
            return sim.get_post(post_id).response()
        if request.method == "DELETE":
            return sim.delete_post(post_id).response()
        body = await _json_body(request)
        result = sim.update_post(post_id, None if body is _INVALID else body)
        if isinstance(result, Reply):
            return result.response()
        return await publish_after_delay(result, 200, "Post published successfully")

    async def retry(request: Request) -> Response:
        result = sim.begin_retry(request.path_params["post_id"])
        if isinstance(result, Reply):
            return result.response()
        return await publish_after_delay(result, 200, "Post retried successfully")

    async def admin_stats(request: Request) -> Response:
        return JSONResponse(sim.stats())

    async def admin_tick(request: Request) -> Response:
        return JSONResponse({"published": sim.tick()})

    async def admin_reset(request: Request) -> Response:
        sim.reset()
        return JSONResponse({"ok": True})

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return JSONResponse({"error": "Not found" if status == 404 else "Method not allowed"}, status)

    routes = [
        Route("/api/v1/profiles", profiles, methods=["GET"]),
        Route("/api/v1/accounts", accounts, methods=["GET"]),
        Route("/api/v1/users", users, methods=["GET"]),
        Route("/api/v1/connect/bluesky/credentials", bluesky, methods=["POST"]),
        Route("/api/v1/connect/{platform}", connect, methods=["GET"]),
        Route("/api/v1/media/presign", presign, methods=["POST"]),
        Route("/api/v1/posts", posts, methods=["GET", "POST"]),
        Route("/api/v1/posts/{post_id}", post_detail, methods=["GET", "PUT", "DELETE"]),
        Route("/api/v1/posts/{post_id}/retry", retry, methods=["POST"]),
        Route("/_sim/upload/{key:path}", upload, methods=["PUT"]),
        Route("/_sim/stats", admin_stats, methods=["GET"]),
        Route("/_sim/tick", admin_tick, methods=["POST"]),
        Route("/_sim/reset", admin_reset, methods=["POST"]),
        Route("/_sim/oauth/{platform}/authorize", authorize, methods=["GET"]),
        *admin_routes(sim),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
    app.add_middleware(_ApiEdge, sim=sim)
    return FaultLayer(app, sim)


__all__ = ["SANDBOX_LATE_KEY", "SIM_PLATFORMS", "LateSim", "create_app"]
