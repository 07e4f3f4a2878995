"""Fault switches for the simulators: what can go wrong between postdeck and a provider, on demand.

A `FaultPlan` is a seed and a list of rules. Each rule has a kind, a rate (the chance it fires on a
request it applies to), the operations it applies to (`ops`: create, update, delete, get, list,
results, accounts, connect, upload, retry; none = all), and optional bounds (`count`: fire at most
this many times; `after_requests`: only once this many API requests were served). Kinds:

    latency      hold the request `min_s`..`max_s` seconds before handling it
    status       answer `status` (vendor-shaped body) — before doing the work, or after it with
                 `after_store: true` (PostForMe answers 500 after storing a post)
    throttle     answer 429 with the vendor's rate-limit headers and `Retry-After: retry_after`,
                 for `burst` requests in a row
    timeout      do the work, then hold the answer `hang_s` seconds (or until the client gives up):
                 a read timeout AFTER the post was stored
    reset        drop the connection with a TCP reset, before the work or `after_store`
    partial      when a post is published, fail the `platforms` listed (or any) for `reason`
                 `content` (the platform refused it) or `account` (the connection to the account)
    disconnect   disconnect the accounts of `platforms` (once, when the rule fires)
    down         the whole provider goes down (connections refused) for `for_s` seconds, right
                 after answering the request that fired it

Decisions come from one `random.Random(seed)` drawn in request order, so a plan replays the same
faults for the same sequence of requests. Plans are set per test (`sim.faults.set_plan(...)`), per
running simulator (`POST /_sim/faults`), or from a file (`postdeck sandbox --faults FILE`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Kind = Literal["latency", "status", "throttle", "timeout", "reset", "partial", "disconnect", "down"]
OPERATIONS = frozenset(
    {"create", "update", "delete", "get", "list", "results", "accounts", "connect", "upload", "retry"}
)
REQUEST_KINDS = frozenset({"status", "throttle", "timeout", "reset"})  # answer the request themselves


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind
    rate: float = Field(default=1.0, ge=0.0, le=1.0)
    ops: tuple[str, ...] | None = None
    count: int | None = Field(default=None, ge=1)
    after_requests: int = Field(default=0, ge=0)
    status: int = Field(default=503, ge=400, le=599)
    after_store: bool = False
    burst: int = Field(default=1, ge=1)
    retry_after: float = Field(default=1.0, ge=0.0)
    hang_s: float = Field(default=30.0, gt=0.0)
    min_s: float = Field(default=0.0, ge=0.0)
    max_s: float = Field(default=0.0, ge=0.0)
    platforms: tuple[str, ...] | None = None
    reason: Literal["content", "account"] = "content"
    for_s: float = Field(default=1.0, gt=0.0)

    @model_validator(mode="after")
    def _check(self) -> FaultRule:
        unknown = set(self.ops or ()) - OPERATIONS
        if unknown:
            raise ValueError(f"unknown operations {sorted(unknown)}; known: {sorted(OPERATIONS)}")
        if self.max_s < self.min_s:
            raise ValueError("max_s must be at least min_s")
        return self


class FaultPlan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 0
    rules: tuple[FaultRule, ...] = ()


def load_plans(path: Path) -> dict[str, FaultPlan]:
    """A faults file (YAML or JSON): `{postforme: plan, late: plan}`, or one plan for both."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.suffix in (".yaml", ".yml") else None
    if data is None:
        data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a faults file holds a mapping")
    if set(data) <= {"postforme", "late"}:
        return {name: FaultPlan.model_validate(plan or {}) for name, plan in data.items()}
    plan = FaultPlan.model_validate(data)
    return {"postforme": plan, "late": plan}


@dataclass(frozen=True)
class Decision:
    """What the fault layer does with one request."""

    latency: float = 0.0
    rule: FaultRule | None = None  # the request-level fault to act out, if any
    down_for: float | None = None  # go down after answering


class FaultInjector:
    """The running state of a plan: its random stream, what fired, bursts in progress. Thread-safe:
    the HTTP side asks per request, the simulator's state asks when it publishes."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        # Hooks: the simulator disconnects accounts; the server goes down.
        self.disconnect_hook: Callable[[tuple[str, ...] | None], None] | None = None
        self.down_hook: Callable[[float], None] | None = None
        self.set_plan(plan or FaultPlan())

    def set_plan(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan
            self._rng = random.Random(plan.seed)
            self._requests = 0
            self._fired_by_rule: Counter[int] = Counter()
            self.fired: Counter[str] = Counter()
            self.fired_ops: Counter[str] = (
                Counter()
            )  # "kind:operation" (published targets: "partial:publish")
            self._burst: tuple[FaultRule, int] | None = None

    def clear(self) -> None:
        self.set_plan(FaultPlan())

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "plan": self.plan.model_dump(mode="json"),
                "requests": self._requests,
                "fired": dict(self.fired),
                "fired_ops": dict(self.fired_ops),
            }

    def _fires(self, index: int, rule: FaultRule, served: int, op: str = "publish") -> bool:
        """`served`: API requests answered before this decision."""
        if rule.count is not None and self._fired_by_rule[index] >= rule.count:
            return False
        if served < rule.after_requests:
            return False
        if self._rng.random() >= rule.rate:
            return False
        self._fired_by_rule[index] += 1
        self.fired[rule.kind] += 1
        self.fired_ops[f"{rule.kind}:{op}"] += 1
        return True

    def on_request(self, op: str) -> Decision:
        """Called once per API request, in arrival order."""
        disconnect: list[FaultRule] = []
        with self._lock:
            served = self._requests
            self._requests += 1
            latency, chosen, down_for = 0.0, None, None
            if self._burst is not None:
                rule, left = self._burst
                chosen = rule
                self._burst = (rule, left - 1) if left > 1 else None
                self.fired["throttle"] += 1
                self.fired_ops[f"throttle:{op}"] += 1
            for index, rule in enumerate(self.plan.rules):
                if rule.ops is not None and op not in rule.ops:
                    continue
                if rule.kind == "latency" and self._fires(index, rule, served, op):
                    latency += self._rng.uniform(rule.min_s, rule.max_s)
                elif rule.kind in REQUEST_KINDS and chosen is None and self._fires(index, rule, served, op):
                    chosen = rule
                    if rule.kind == "throttle" and rule.burst > 1:
                        self._burst = (rule, rule.burst - 1)
                elif rule.kind == "disconnect" and self._fires(index, rule, served, op):
                    disconnect.append(rule)
                elif rule.kind == "down" and down_for is None and self._fires(index, rule, served, op):
                    down_for = rule.for_s
        for rule in disconnect:  # outside the lock: the simulator takes its own
            if self.disconnect_hook is not None:
                self.disconnect_hook(rule.platforms)
        if down_for is not None and self.down_hook is None:
            down_for = None  # no server to take down (an in-process test client)
        return Decision(latency=latency, rule=chosen, down_for=down_for)

    def platform_failure(self, platform: str) -> Literal["content", "account"] | None:
        """Called when a post is published on `platform`: does a `partial` rule fail it, and why?"""
        with self._lock:
            for index, rule in enumerate(self.plan.rules):
                if rule.kind != "partial" or (rule.platforms is not None and platform not in rule.platforms):
                    continue
                if self._fires(index, rule, self._requests):
                    return rule.reason
        return None


# --- the HTTP side ---------------------------------------------------------------------------------


class VendorFaults(Protocol):
    """What a simulator tells the fault layer: which operation a request is, and its error shapes."""

    faults: FaultInjector

    def operation(self, method: str, path: str) -> str | None: ...

    def fault_reply(self, status: int) -> tuple[dict[str, Any], dict[str, str]]: ...

    def throttle_reply(self, retry_after: float) -> tuple[dict[str, Any], dict[str, str]]: ...


def seconds_header(value: float) -> str:
    """Retry-After as the vendors write it (whole seconds), fractions kept for fast tests."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class FaultLayer:
    """The outermost ASGI layer of a simulator: acts out the request-level faults of its plan."""

    def __init__(self, app: ASGIApp, vendor: VendorFaults) -> None:
        self.app = app
        self.vendor = vendor

    @property
    def faults(self) -> FaultInjector:
        return self.vendor.faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        op = self.vendor.operation(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if op is None:
            await self.app(scope, receive, send)
            return
        decision = self.faults.on_request(op)
        if decision.latency > 0:
            await asyncio.sleep(decision.latency)
        rule = decision.rule
        hook, down_for = self.faults.down_hook, decision.down_for
        go_down = partial(hook, down_for) if hook is not None and down_for is not None else None
        if rule is None and go_down is not None:
            # Answer, but go down first: the client must find the door shut for its next request,
            # and this answer says `Connection: close` so no pooled connection outlives the outage.
            captured = await _captured(self.app, scope, receive)
            go_down()
            for message in _closing(captured):
                await send(message)
            return
        if rule is None:
            await self.app(scope, receive, send)
        elif rule.kind == "throttle":
            await _drain(receive)
            await _reply(send, 429, *self.vendor.throttle_reply(rule.retry_after))
        elif rule.kind == "status":
            if rule.after_store:
                await self.app(scope, receive, _discard)
            else:
                await _drain(receive)
            await _reply(send, rule.status, *self.vendor.fault_reply(rule.status))
        elif rule.kind == "timeout":
            captured = await _captured(self.app, scope, receive)
            if not await _client_left(receive, rule.hang_s):
                for message in captured:  # far too late: the client has given up by now
                    await send(message)
        elif rule.kind == "reset":
            if rule.after_store:
                await self.app(scope, receive, _discard)
            else:
                await _drain(receive)
            await _reset(send)
        if go_down is not None:
            go_down()


async def _discard(message: Message) -> None:
    return None


async def _captured(app: ASGIApp, scope: Scope, receive: Receive) -> list[Message]:
    """Run the app to the end, keeping its answer instead of sending it."""
    captured: list[Message] = []

    async def capture(message: Message) -> None:
        captured.append(message)

    await app(scope, receive, capture)
    return captured


def _closing(messages: list[Message]) -> list[Message]:
    """The same answer with `Connection: close`."""
    out = []
    for message in messages:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
            message = {**message, "headers": [*headers, (b"connection", b"close")]}
        out.append(message)
    return out


async def _drain(receive: Receive) -> None:
    """Read the request body, so the answer goes to a request that was fully received."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


async def _reply(send: Send, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
    raw = json.dumps(body).encode()
    header_list = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    header_list += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": header_list})
    await send({"type": "http.response.body", "body": raw})


async def _client_left(receive: Receive, seconds: float) -> bool:
    """Wait up to `seconds` for the client to hang up; True if it did."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                if (await receive())["type"] == "http.disconnect":
                    return True
    except TimeoutError:
        return False


class SimulatedReset(ConnectionResetError):
    """Raised where no socket can be reset (an in-process test client)."""


async def _reset(send: Send) -> None:
    """Drop the connection with a TCP RST: uvicorn's `send` is bound to the request's cycle, which
    holds the transport. SO_LINGER 0 makes close() send a reset instead of a polite FIN."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise SimulatedReset("connection reset (simulated)")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    for _ in range(3):  # let the server notice the connection is gone before the app returns
        await asyncio.sleep(0)


# --- admin routes (no key, like every /_sim route) -------------------------------------------------


def admin_routes(vendor: VendorFaults) -> list[Any]:
    """`GET /_sim/faults` (the plan and what fired), `POST /_sim/faults` (a new plan; `{}` clears it),
    `POST /_sim/down {"for_s": N}` (the whole provider down for N seconds, after this answer)."""
    from pydantic import ValidationError
    from starlette.background import BackgroundTask
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def show(request: Request) -> JSONResponse:
        return JSONResponse(vendor.faults.snapshot())

    async def replace(request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            plan = FaultPlan.model_validate_json(raw or b"{}")
        except ValidationError as exc:
            return JSONResponse(
                {"error": "invalid fault plan", "details": exc.errors(include_url=False)}, 400
            )
        vendor.faults.set_plan(plan)
        return JSONResponse(vendor.faults.snapshot())

    async def down(request: Request) -> JSONResponse:
        raw = await request.body()
        seconds = float((json.loads(raw) if raw else {}).get("for_s", 1.0))
        hook = vendor.faults.down_hook
        if hook is None:
            return JSONResponse({"error": "not served by a SandboxServer: cannot go down"}, 409)
        return JSONResponse({"down_for": seconds}, background=BackgroundTask(hook, seconds))

    return [
        Route("/_sim/faults", show, methods=["GET"]),
        Route("/_sim/faults", replace, methods=["POST"]),
        Route("/_sim/down", down, methods=["POST"]),
    ]
