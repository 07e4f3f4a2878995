"""A Post for Me (api.postforme.dev) simulator that speaks the vendor's wire format.

Modelled on the open-source server (DayMoonDevelopment/post-for-me, see
shared/reference/providers.md §1 and §4). `PostForMeSim` (postforme_state) is the state;
`create_app(sim)` here is the Starlette app, wrapped in the fault layer (postdeck.sandbox.faults).
Admin endpoints live under `/_sim/` and need no key.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from postdeck.sandbox.faults import FaultLayer, admin_routes
from postdeck.sandbox.postforme_state import PostForMeSim
from postdeck.sandbox.postforme_wire import (
    DEFAULT_API_KEY,
    REAL_RATE_LIMITS,
    NestError,
    RateLimit,
    media_url_errors,
)

# --- HTTP ---------------------------------------------------------------------------------------


def _values(request: Request, name: str) -> list[str]:
    """A filter as the server reads it: repeated (`?a=1&a=2`, `a[]=`) or comma-joined."""
    raw = request.query_params.getlist(name) + request.query_params.getlist(name + "[]")
    return [part for value in raw for part in value.split(",") if part != ""]


def _page(request: Request) -> tuple[int, int]:
    """BasePaginatedQueryDto: offset ≥ 0 (default 0), 1 ≤ limit ≤ 100 (default 50)."""
    messages: list[str] = []
    values = {}
    for name, default, low, high in (("offset", 0, 0, None), ("limit", 50, 1, 100)):
        raw = request.query_params.get(name)
        if raw is None:
            values[name] = default
            continue
        try:
            number = float(raw.strip() or "0")  # Number("") is 0 in JavaScript
        except ValueError:
            number = math.nan
        if high is not None and not number <= high:
            messages.append(f"{name} must not be greater than {high}")
        if not number >= low:
            messages.append(f"{name} must not be less than {low}")
        if not (math.isfinite(number) and number == int(number)):
            messages.append(f"{name} must be an integer number")
        values[name] = int(number) if math.isfinite(number) else default
    if messages:
        raise NestError.standard(400, messages, "Bad Request")
    return values["offset"], values["limit"]


def _paginated(request: Request, data: list[dict], total: int, offset: int, limit: int) -> dict[str, Any]:
    next_url = None
    if offset + limit < total:
        params = {
            k: ",".join(request.query_params.getlist(k))
            for k in request.query_params
            if k not in ("offset", "limit")
        }
        params.update(limit=str(limit), offset=str(offset + limit))
        next_url = f"{request.url.scheme}://{request.url.netloc}{request.url.path}?{urlencode(params)}"
    return {"data": data, "meta": {"total": total, "offset": offset, "limit": limit, "next": next_url}}


async def _json_body(request: Request) -> Any:
    """express.json(): JSON bodies parsed, anything else read as `{}`."""
    raw = await request.body()
    if not raw.strip() or "json" not in request.headers.get("content-type", ""):
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        message = f"Unexpected token in JSON at position {getattr(exc, 'pos', 0)}"
        raise NestError.standard(400, message, "Bad Request") from None


def create_app(sim: PostForMeSim) -> FaultLayer:
    """The app serving `sim` under /v1 (plus signed uploads and /_sim admin), inside its fault layer."""

    def base(request: Request) -> str:
        return (sim.upload_base or f"{request.url.scheme}://{request.url.netloc}").rstrip("/")

    def api(handler: Callable[[Request, Any], Any], status: int = 200) -> Callable:
        async def endpoint(request: Request) -> Response:
            try:
                body = await _json_body(request) if request.method in ("POST", "PUT", "PATCH") else None
                sim.authorize(request.headers.get("authorization"))
                sim.advance()
                response: Response = JSONResponse(handler(request, body), status_code=status)
            except NestError as exc:
                response = exc.response()
            if sim.response_delay > 0:
                await asyncio.sleep(sim.response_delay)  # the work is done; only the answer is late
            return response

        return endpoint

    def list_accounts(request: Request, _: Any) -> dict:
        offset, limit = _page(request)
        query = {n: _values(request, n) for n in ("platform", "username", "external_id", "id", "status")}
        data, total = sim.list_accounts(query, offset, limit)
        return _paginated(request, data, total, offset, limit)

    def list_posts(request: Request, _: Any) -> dict:
        offset, limit = _page(request)
        query = {n: _values(request, n) for n in ("platform", "status", "external_id", "social_account_id")}
        data, total = sim.list_posts(query, offset, limit)
        return _paginated(request, data, total, offset, limit)

    def list_results(request: Request, _: Any) -> dict:
        offset, limit = _page(request)
        query = {n: _values(request, n) for n in ("post_id", "platform", "social_account_id")}
        data, total = sim.list_results(query, offset, limit)
        return _paginated(request, data, total, offset, limit)

    def path_id(request: Request) -> str:
        return request.path_params["id"]

    async def put_upload(request: Request) -> Response:
        try:
            data = await request.body()
            content_type = request.headers.get("content-type", "application/octet-stream")
            result = sim.put_upload(
                request.path_params["key"], request.query_params.get("token"), data, content_type
            )
            return JSONResponse(result)
        except NestError as exc:
            return exc.response()

    async def public_media(request: Request) -> Response:
        data = sim.media_bytes(request.path_params["key"])
        if data is None:
            return JSONResponse(
                {"statusCode": "404", "error": "not_found", "message": "Object not found"}, 400
            )
        upload = sim.uploads.get(request.path_params["key"], {})
        return Response(data, media_type=upload.get("content_type") or "application/octet-stream")

    async def oauth_callback(request: Request) -> Response:
        platform = request.path_params["platform"]
        try:
            account, redirect = sim.complete_auth(
                platform, request.query_params.get("state", ""), request.query_params.get("handle")
            )
        except NestError as exc:
            return exc.response()
        params = {
            "provider": platform,
            "projectId": sim.project_id,
            "isSuccess": "true",
            "accountIds": account["id"],
        }
        if redirect:
            separator = "&" if "?" in redirect else "?"
            return RedirectResponse(f"{redirect}{separator}{urlencode(params)}", status_code=302)
        return JSONResponse(params)

    async def admin_stats(request: Request) -> Response:
        return JSONResponse(sim.stats())

    async def admin_tick(request: Request) -> Response:
        return JSONResponse({"processed": sim.tick()})

    async def admin_reset(request: Request) -> Response:
        sim.reset()
        return JSONResponse({"success": True})

    async def admin_config(request: Request) -> Response:
        body = await _json_body(request)
        return JSONResponse(sim.configure(body if isinstance(body, dict) else {}))

    async def not_found(request: Request, exc: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return NestError.standard(404, f"Cannot {request.method} {target}", "Not Found").response()

    routes = [
        Route(
            "/v1/social-accounts/auth-url", api(lambda r, b: sim.auth_url(b, base(r)), 201), methods=["POST"]
        ),
        Route("/v1/social-accounts", api(list_accounts), methods=["GET"]),
        Route("/v1/social-accounts/{id}", api(lambda r, b: sim.get_account(path_id(r))), methods=["GET"]),
        Route(
            "/v1/social-accounts/{id}/disconnect",
            api(lambda r, b: sim.disconnect_account(path_id(r)), 201),
            methods=["POST"],
        ),
        Route(
            "/v1/media/create-upload-url", api(lambda r, b: sim.create_upload(base(r)), 201), methods=["POST"]
        ),
        Route("/v1/social-posts", api(lambda r, b: sim.create_post(b), 201), methods=["POST"]),
        Route("/v1/social-posts", api(list_posts), methods=["GET"]),
        Route("/v1/social-posts/{id}", api(lambda r, b: sim.get_post(path_id(r))), methods=["GET"]),
        Route("/v1/social-posts/{id}", api(lambda r, b: sim.update_post(path_id(r), b)), methods=["PUT"]),
        Route("/v1/social-posts/{id}", api(lambda r, b: sim.delete_post(path_id(r))), methods=["DELETE"]),
        Route("/v1/social-post-results", api(list_results), methods=["GET"]),
        Route("/v1/social-post-results/{id}", api(lambda r, b: sim.get_result(path_id(r))), methods=["GET"]),
        Route("/storage/v1/object/upload/sign/post-media/{key:path}", put_upload, methods=["PUT"]),
        Route("/storage/v1/object/public/post-media/{key:path}", public_media, methods=["GET"]),
        Route("/_sim/oauth/callback/{platform}", oauth_callback, methods=["GET"]),
        Route("/_sim/stats", admin_stats, methods=["GET"]),
        Route("/_sim/tick", admin_tick, methods=["POST"]),
        Route("/_sim/reset", admin_reset, methods=["POST"]),
        Route("/_sim/config", admin_config, methods=["POST"]),
        *admin_routes(sim),
    ]
    return FaultLayer(Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found}), sim)


__all__ = [
    "DEFAULT_API_KEY",
    "REAL_RATE_LIMITS",
    "NestError",
    "PostForMeSim",
    "RateLimit",
    "create_app",
    "media_url_errors",
]
