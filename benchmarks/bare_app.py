"""The benchmark's baseline: a bare Flask view that reads and parses the same body and answers 202."""

from __future__ import annotations

import json

from flask import Flask, request

app = Flask("bare")


@app.post("/api/github/webhooks")
def webhook() -> tuple[str, int]:
    json.loads(request.get_data())
    return '{"accepted": true}', 202
