"""MoEngage's OAuth callback, at MoEngage's own path (spec §2.5 ``redirect_uri``)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..services import oauth
from . import context

bp = Blueprint("oauth_callback", __name__)


@bp.get(oauth.CALLBACK_PATH)
def callback():
    return jsonify(oauth.callback(context(), request.args.to_dict(), request.url_root))
