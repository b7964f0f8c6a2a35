"""The sandbox control plane, under ``/_sim/`` only: health, readiness, reset, sinks."""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify, request, send_file

from ..core.errors import BadRequest, NotReady
from ..core.record_filters import parse_delivery_filter, parse_request_filter, parse_wait
from ..core.sinks import ReceivedRequest
from ..core.timestamps import iso
from ..services import clock, control, engine, sinks
from ..services import delivery_log, snapshots
from . import context, json_body, optional_json_body
from .contract import query

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
    """Back to the start-up state (fixtures included); ``?empty=1``: no data at all."""
    ctx = context()
    started = time.perf_counter()
    empty = request.args.get("empty", "").lower() in ("1", "true", "yes")
    (control.empty if empty else control.reset)(ctx)
    return jsonify({"status": "emptied" if empty else "reset",
                    "took_ms": round((time.perf_counter() - started) * 1000, 1)})


@bp.get("/clock")
def clock_view():
    return jsonify(clock.view(context()))


@bp.post("/clock")
def clock_change():
    return jsonify(clock.change(context(), optional_json_body()))


@bp.post("/clock/advance")
def clock_advance():
    return jsonify(clock.advance(context(), optional_json_body()))


@bp.post("/run-due")
def run_due():
    """Run every job that is due now, synchronously (tests, CLI, demos)."""
    return jsonify({"ran": engine.run_due(context())})


@bp.get("/deliveries")
def deliveries():
    match = parse_delivery_filter(request.args.items(multi=True), ("limit", "after"))
    return jsonify(delivery_log.find(context(), match, limit=query("limit"),
                                     after=query("after", 0)))


@bp.get("/deliveries/wait")
def deliveries_wait():
    """Long-poll: 200 with ``timed_out`` true or false (see README, Assertion API)."""
    wait = parse_wait(request.args.items(multi=True))
    match = parse_delivery_filter(request.args.items(multi=True), ("limit", "count", "timeout"))
    return jsonify(delivery_log.wait(context(), match, wait,
                                     limit=query("limit")))


@bp.delete("/deliveries")
def deliveries_delete():
    match = parse_delivery_filter(request.args.items(multi=True))
    return jsonify({"deleted": delivery_log.delete(context(), match)})


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


@bp.get("/sinks")
def sink_list():
    """Every sink with requests or a behaviour: name, requests kept, served, last request."""
    return jsonify(sinks.listing(context()))


@bp.get("/sink-requests")
def sink_requests():
    """Requests of every sink (``?sink=`` one) after the cursor ``?after=``, oldest first
    (``after=latest``: just the cursor)."""
    after = request.args.get("after", "0")
    if after != "latest" and not after.isdigit():
        raise BadRequest("after must be a cursor (a number) or latest", path="after")
    return jsonify(sinks.recent(context(), after=None if after == "latest" else int(after),
                                limit=request.args.get("limit", 100, type=int),
                                sink=request.args.get("sink")))


@bp.get("/sinks/<name>")
def sink_view(name: str):
    return jsonify(sinks.view(context(), name, parse_request_filter(request.args.items(multi=True))))


@bp.get("/sinks/<name>/wait")
def sink_wait(name: str):
    """Long-poll: 200 with ``timed_out`` true or false (see README, Assertion API)."""
    wait = parse_wait(request.args.items(multi=True))
    match = parse_request_filter(request.args.items(multi=True), ("count", "timeout"))
    return jsonify(sinks.wait(context(), name, match, wait))


@bp.put("/sinks/<name>")
def sink_configure(name: str):
    return jsonify(sinks.configure(context(), name, json_body()))


@bp.delete("/sinks/<name>")
def sink_clear(name: str):
    """No filter: clear the sink (requests and behaviour), 204. Filters: delete the matching
    requests only, ``{"deleted": n}``."""
    match = parse_request_filter(request.args.items(multi=True))
    if not match.is_empty():
        return jsonify({"deleted": sinks.delete(context(), name, match)})
    sinks.clear(context(), name)
    return "", 204


@bp.post("/snapshot")
def snapshot():
    """``{"path": FILE}`` writes the snapshot on the server; an empty body streams it back."""
    if request.get_data():
        payload = json_body()
        if not isinstance(payload, dict) or set(payload) != {"path"} or not isinstance(
                payload["path"], str):
            raise BadRequest("body must be {\"path\": FILE}, or empty to download",
                             path="path")
        return jsonify(snapshots.export(context(), payload["path"]))
    return send_file(snapshots.exported(context()), mimetype="application/octet-stream",
                     as_attachment=True, download_name="moesim-snapshot.db")


@bp.post("/snapshot/restore")
def snapshot_restore():
    """``{"path": FILE}`` (a file on the server) or the snapshot file as the body."""
    if request.mimetype == "application/json":
        payload = json_body()
        if not isinstance(payload, dict) or not isinstance(payload.get("path"), str):
            raise BadRequest("body must be {\"path\": FILE}", path="path")
        return jsonify(snapshots.restore_path(context(), payload["path"]))
    return jsonify(snapshots.restore_bytes(context(), request.get_data()))
