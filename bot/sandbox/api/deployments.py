"""deployments (in progress)."""

from flask import Blueprint

bp = Blueprint("sandbox_deployments", __name__)
