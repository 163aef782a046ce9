"""checks (in progress)."""

from flask import Blueprint

bp = Blueprint("sandbox_checks", __name__)
