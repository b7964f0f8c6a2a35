"""Saved segments and "Show count" (spec §5.1; campaign-api.md §1.5 shapes)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..services import segments
from . import context, json_body

bp = Blueprint("segments", __name__, url_prefix="/api")


@bp.post("/segments")
def create_segment():
    return jsonify(segments.create(context(), json_body())), 201


@bp.get("/segments")
def list_segments():
    return jsonify({"segments": segments.all_(context())})


@bp.post("/segments/count")
def count_audience():
    return jsonify(segments.count(context(), json_body()))


@bp.get("/segments/<int:segment_id>")
def get_segment(segment_id: int):
    return jsonify(segments.get(context(), segment_id))


@bp.delete("/segments/<int:segment_id>")
def delete_segment(segment_id: int):
    return jsonify(segments.delete(context(), segment_id))
