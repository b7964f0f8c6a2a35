"""The sandbox control plane, under ``/_sim/`` only: health, readiness, reset, sinks."""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify, request

from ..core.errors import NotReady
from ..core.sinks import ReceivedRequest
from ..core.timestamps import iso
from ..services import clock, control, engine, sinks
from ..services import delivery_log
from . import context, json_body

bp = Blueprint("sim", __name__, url_prefix="/_sim")

ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@bp.get("/health")
def health():
    return jsonify({"status": "ok"})


@bp.get("/ready")
def ready():
    if not context().ready.is_set():
        raise NotReady("store migrating or fixtures loading")
    return jsonify({"status": "ready"})


@bp.post("/reset")
def reset():
    ctx = context()
    started = time.perf_counter()
    control.reset(ctx)
    return jsonify({"status": "reset", "took_ms": round((time.perf_counter() - started) * 1000, 1)})


@bp.get("/clock")
def clock_view():
    return jsonify(clock.view(context()))


@bp.post("/clock")
def clock_change():
    return jsonify(clock.change(context(), request.get_json(silent=True)))


@bp.post("/clock/advance")
def clock_advance():
    return jsonify(clock.advance(context(), request.get_json(silent=True)))


@bp.post("/run-due")
def run_due():
    """Run every job that is due now, synchronously (tests, CLI, demos)."""
    return jsonify({"ran": engine.run_due(context())})


@bp.get("/deliveries")
def deliveries():
    args = request.args
    return jsonify(delivery_log.find(context(), campaign_id=args.get("campaign_id"),
                                     outcome=args.get("status"),
                                     customer_id=args.get("customer_id"),
                                     limit=args.get("limit", type=int),
                                     after=args.get("after", 0, type=int)))


@bp.get("/logs/data-api")
def data_api_log():
    return jsonify({"entries": [{**e, "time": iso(e["time"])} for e in context().data_api_log]})


@bp.route("/sink/<name>", methods=ANY_METHOD, provide_automatic_options=False)
@bp.route("/sink/<name>/<path:rest>", methods=ANY_METHOD, provide_automatic_options=False)
def sink(name: str, rest: str = ""):
    received = ReceivedRequest(
        method=request.method, path="/" + rest, query=request.query_string.decode("latin-1"),
        headers=dict(request.headers), body=request.get_data())
    reply = sinks.receive(context(), name, received)
    if reply.delay_ms:
        time.sleep(reply.delay_ms / 1000)  # a slow partner endpoint, in real time
    return Response(reply.body, status=reply.status, headers=reply.headers)


@bp.get("/sinks/<name>")
def sink_view(name: str):
    return jsonify(sinks.view(context(), name))


@bp.put("/sinks/<name>")
def sink_configure(name: str):
    return jsonify(sinks.configure(context(), name, json_body()))


@bp.delete("/sinks/<name>")
def sink_clear(name: str):
    sinks.clear(context(), name)
    return "", 204
