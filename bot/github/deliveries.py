"""The App's webhook deliveries on GitHub: list them (by cursor) and ask for a redelivery.

``GET /app/hook/deliveries`` and ``POST /app/hook/deliveries/{id}/attempts`` take the App's JWT, so
they go through the ``GithubIntegration``'s requester (the one retry policy and the call counter
apply). The list is newest first and paged by an opaque ``cursor`` in the ``Link`` header, as
GitHub does for this endpoint; ``deliveries_since`` stops at the first page that reaches past the
window, so a scan costs a few requests however long the App has existed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from github.GithubIntegration import GithubIntegration

from bot.github.auth import GitHubApp
from bot.github.paging import list_all

PER_PAGE = 100


@dataclass(frozen=True)
class HookDelivery:
    """One delivery attempt (``hook-delivery-item``); redeliveries share the ``guid``."""

    id: int
    guid: str
    delivered_at: datetime
    redelivery: bool
    status: str
    status_code: int
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None

    @property
    def ok(self) -> bool:
        """GitHub's own test in its recovery scripts: a delivery failed when its status is not OK."""
        return self.status == "OK"

    @property
    def unanswered(self) -> bool:
        """No answer the bot chose: refused connection, time-out (status code 0) or a 5xx. A 4xx is
        the bot refusing the delivery on purpose (bad signature, wrong shape): sent again, it would
        be refused again."""
        return not self.ok and (self.status_code == 0 or self.status_code >= 500)


class DeliveryShapeError(ValueError):
    """GitHub answered with something that is not a list of deliveries."""


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise DeliveryShapeError(f"delivered_at is not a string: {value!r}")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _optional_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_delivery(item: Any) -> HookDelivery:
    if not isinstance(item, dict):
        raise DeliveryShapeError(f"a delivery is not an object: {type(item).__name__}")
    try:
        return HookDelivery(
            id=int(item["id"]),
            guid=str(item["guid"]),
            delivered_at=_parse_time(item.get("delivered_at")),
            redelivery=bool(item.get("redelivery")),
            status=str(item.get("status") or ""),
            status_code=_optional_int(item.get("status_code")) or 0,
            event=str(item.get("event") or ""),
            action=item.get("action") if isinstance(item.get("action"), str) else None,
            installation_id=_optional_int(item.get("installation_id")),
            repository_id=_optional_int(item.get("repository_id")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DeliveryShapeError(f"a delivery lacks a usable field: {exc}") from None


def _next_link(headers: dict[str, Any]) -> str | None:
    link = headers.get("link") or headers.get("Link") or ""
    for part in str(link).split(","):
        url, _, rel = part.partition(";")
        if 'rel="next"' in rel:
            return url.strip().strip("<>")
    return None


def iter_deliveries(integration: GithubIntegration, max_pages: int) -> Iterator[HookDelivery]:
    """Every delivery, newest first, at most ``max_pages`` pages."""
    url: str | None = "/app/hook/deliveries"
    params: dict[str, Any] | None = {"per_page": PER_PAGE}
    for _ in range(max_pages):
        if url is None:
            return
        headers, data = integration.requester.requestJsonAndCheck("GET", url, parameters=params)
        if not isinstance(data, list):
            raise DeliveryShapeError(f"GET /app/hook/deliveries answered {type(data).__name__}, not a list")
        for item in data:
            yield parse_delivery(item)
        url, params = _next_link(headers), None  # the next link carries per_page and the cursor


def deliveries_since(
    integration: GithubIntegration, since: datetime, max_pages: int = 20
) -> list[HookDelivery]:
    """The deliveries made at or after ``since`` (newest first)."""
    found: list[HookDelivery] = []
    for delivery in iter_deliveries(integration, max_pages):
        if delivery.delivered_at < since:
            break  # newest first: everything after this is older still
        found.append(delivery)
    return found


def redeliver(integration: GithubIntegration, delivery_id: int) -> None:
    """Ask GitHub to send delivery ``delivery_id`` again (same ``X-GitHub-Delivery``); 202."""
    integration.requester.requestJsonAndCheck("POST", f"/app/hook/deliveries/{delivery_id}/attempts")


# --- through the App (its JWT signed on GitHub's clock) ---


def app_deliveries_since(app: GitHubApp, since: datetime, max_pages: int = 20) -> list[HookDelivery]:
    return app.app_call(lambda: deliveries_since(app.integration, since, max_pages))  # type: ignore[no-any-return]


def app_redeliver(app: GitHubApp, delivery_id: int) -> None:
    app.app_call(lambda: redeliver(app.integration, delivery_id))


def installation_repositories(app: GitHubApp) -> list[tuple[int, int, str]]:
    """(installation id, repository id, full name) of every repository of every active installation."""
    found: list[tuple[int, int, str]] = []
    for installation in app.app_call(lambda: list(app.integration.get_installations())):
        if getattr(installation, "suspended_at", None):
            continue
        gh = app.client_for(installation.id)
        for repo in list_all(gh, "/installation/repositories", items_key="repositories"):
            found.append((installation.id, int(repo["id"]), str(repo.get("full_name") or "")))
    return found
