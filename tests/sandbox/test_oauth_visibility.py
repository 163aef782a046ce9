"""GET /user/installations and /user/installations/{id}/repositories list only what the user has
explicit access to (GitHub: "explicit permission (:read, :write, or :admin)"): reading a public
repository is not enough."""

from __future__ import annotations

import httpx
from validation import RunningSandbox


def _names(sb: RunningSandbox, login: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    installs = sb.api.get("/user/installations", as_=login).json()["installations"]
    for inst in installs:
        repos = sb.api.get(
            f"/user/installations/{inst['id']}/repositories", as_=login, params={"per_page": 100}
        )
        out[inst["account"]["login"]] = [r["full_name"] for r in repos.json()["repositories"]]
    return out


def test_only_explicit_access_lists_a_repository(sb: RunningSandbox) -> None:
    resp = httpx.post(
        f"{sb.root_url}/_sandbox/repos",
        timeout=10,
        json={"owner": "globex", "name": "public-rocket", "permissions": {"dev": "write"}},
    )
    assert resp.status_code in (200, 201), resp.text
    # outsider can read the public repository, but has no explicit access: not listed, nor its installation
    assert sb.api.get("/repos/globex/public-rocket", as_="outsider").status_code == 200
    assert "globex" not in _names(sb, "outsider")
    assert "acme/rocket" in _names(sb, "outsider")["acme"]  # explicit read on acme/rocket
    assert _names(sb, "dev")["globex"] == ["globex/public-rocket"]
