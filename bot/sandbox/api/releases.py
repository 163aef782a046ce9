"""releases (in progress)."""

from flask import Blueprint

bp = Blueprint("sandbox_releases", __name__)
