"""Campaigns (MoEngage's V1 shapes, campaign-api.md §1-2) and their stats."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..core.errors import BadRequest
from ..services import campaigns, trial
from . import context

bp = Blueprint("campaigns", __name__, url_prefix="/api")


def _json():
    payload = request.get_json(silent=True)
    if payload is None:
        raise BadRequest("body must be JSON (Content-Type: application/json)", path="body")
    return payload


@bp.post("/campaigns")
def create_campaign():
    return jsonify(campaigns.create(context(), _json())), 201


@bp.get("/campaigns")
def list_campaigns():
    return jsonify({"campaigns": campaigns.all_(context())})


@bp.post("/campaigns/test")
def test_campaign():
    return jsonify(trial.send(context(), _json()))


@bp.get("/campaigns/<campaign_id>")
def get_campaign(campaign_id: str):
    return jsonify(campaigns.get(context(), campaign_id))


@bp.post("/campaigns/status")
def change_status():
    return jsonify(campaigns.change_status(context(), _json()))


@bp.patch("/campaigns/<campaign_id>")
def update_campaign(campaign_id: str):
    return jsonify(campaigns.update(context(), campaign_id, _json()))


@bp.get("/campaigns/<campaign_id>/schedule")
def campaign_schedule(campaign_id: str):
    return jsonify(campaigns.schedule(context(), campaign_id, request.args.get("count", type=int)))


@bp.get("/campaigns/<campaign_id>/stats")
def campaign_stats(campaign_id: str):
    return jsonify(campaigns.stats(context(), campaign_id))
