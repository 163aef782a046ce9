"""The deployment's session secret: ``SESSION_SECRET``, else one generated once into
``SESSION_SECRET_FILE`` (mode 0600, created exclusively so every process of one deployment on one
machine reads the same one). It signs the web pages' cookies (``bot.web.session``) and the release
calendar's per-repository tokens (``bot.core.calendar_token``), which the workers write into the
tracking issue: a leaf, so both sides read it the same way.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from bot.settings import Settings


def load_session_secret(settings: Settings) -> str:
    """SESSION_SECRET, else the secret kept in SESSION_SECRET_FILE (generated on first use)."""
    if settings.session_secret:
        return settings.session_secret
    path = Path(settings.session_secret_file)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        text = path.read_text(encoding="ascii").strip()
        if len(text) < 32:
            raise RuntimeError(f"{path}: the session secret is shorter than 32 characters") from None
        return text
    secret = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secret + "\n")
    return secret
