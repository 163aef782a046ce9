"""protection (in progress)."""

from flask import Blueprint

bp = Blueprint("sandbox_protection", __name__)
