"""Campaigns (MoEngage's V1 shapes, campaign-api.md §1-2) and their stats."""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..services import campaigns, trial
from . import context, json_body
from .contract import query

bp = Blueprint("campaigns", __name__, url_prefix="/api")


@bp.post("/campaigns")
def create_campaign():
    return jsonify(campaigns.create(context(), json_body())), 201


@bp.get("/campaigns")
def list_campaigns():
    return jsonify({"campaigns": campaigns.all_(context())})


@bp.post("/campaigns/test")
def test_campaign():
    return jsonify(trial.send(context(), json_body()))


@bp.get("/campaigns/<campaign_id>")
def get_campaign(campaign_id: str):
    return jsonify(campaigns.get(context(), campaign_id))


@bp.post("/campaigns/status")
def change_status():
    return jsonify(campaigns.change_status(context(), json_body()))


@bp.patch("/campaigns/<campaign_id>")
def update_campaign(campaign_id: str):
    return jsonify(campaigns.update(context(), campaign_id, json_body()))


@bp.get("/campaigns/<campaign_id>/schedule")
def campaign_schedule(campaign_id: str):
    return jsonify(campaigns.schedule(context(), campaign_id, query("count")))


@bp.get("/campaigns/<campaign_id>/stats")
def campaign_stats(campaign_id: str):
    return jsonify(campaigns.stats(context(), campaign_id))
