"""The inspector's JSON API and page headers: paging, filters, clear, and who may read them."""

from __future__ import annotations

import re

import pytest
import requests

from ripples.dev import DevServer

from .wire import event, post


def _get(server: DevServer, path: str, **headers: str) -> requests.Response:
    return requests.get(server.url + path, headers=headers, timeout=10)


def test_events_are_listed_newest_first_with_paging_and_filters(server: DevServer) -> None:
    sent = [
        event("signup", **{"$user_id": "ann"}),
        event("track", **{"$user_id": "bob"}),
        event("track", **{"$user_id": "ann"}),
    ]
    post(server, sent)

    page = _get(server, "/api/events").json()
    assert [item["event"] for item in page["events"]] == sent[::-1]
    assert page["total"] == page["count"] == 3
    latest = page["latest"]
    assert [item["seq"] for item in page["events"]] == [latest, latest - 1, latest - 2]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", page["events"][0]["received_at"])

    filtered = _get(server, "/api/events?type=track&user_id=ann").json()
    assert [item["event"] for item in filtered["events"]] == [sent[2]]
    assert (filtered["count"], filtered["total"]) == (1, 3)

    assert len(_get(server, "/api/events?limit=2").json()["events"]) == 2
    assert _get(server, f"/api/events?after={latest}").json()["events"] == []
    newer = event("identify")
    post(server, [newer])
    assert [i["event"] for i in _get(server, f"/api/events?after={latest}").json()["events"]] == [
        newer
    ]


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=x", "after=-1", "after=1.5"])
def test_bad_paging_parameters_answer_400(server: DevServer, query: str) -> None:
    response = _get(server, "/api/events?" + query)

    assert response.status_code == 400
    assert "error" in response.json()


def test_the_epoch_changes_when_the_store_is_cleared(server: DevServer) -> None:
    post(server, [event()])
    before = _get(server, "/api/events").json()["epoch"]

    refused = requests.post(server.url + "/api/clear", timeout=10)
    assert refused.status_code == 403
    cleared = requests.post(
        server.url + "/api/clear", headers={"X-Ripples-Inspector": "1"}, timeout=10
    )

    assert cleared.json() == {"cleared": True}
    page = _get(server, "/api/events").json()
    assert page["epoch"] != before
    assert page["events"] == []


@pytest.mark.parametrize("path", ["/", "/api/events", "/api/summary"])
def test_a_foreign_host_name_cannot_read_the_inspector(server: DevServer, path: str) -> None:
    # A DNS-rebinding page would arrive with its own name in Host.
    assert _get(server, path, Host="evil.example:8788").status_code == 403
    assert _get(server, path, Host=f"127.0.0.1.evil.example:{server.port}").status_code == 403
    assert _get(server, path, Host="127.attacker.example").status_code == 403
    assert _get(server, path, Host=f"localhost:{server.port}").status_code == 200
    assert _get(server, path, Host=f"[::1]:{server.port}").status_code == 200


def test_the_page_is_self_contained_and_locked_down(server: DevServer) -> None:
    response = _get(server, "/")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'sha256-" in policy and "unsafe" not in policy
    assert "connect-src 'self'" in policy
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", response.text)
    assert "innerHTML" not in response.text and "insertAdjacentHTML" not in response.text


def test_unknown_get_paths_answer_404(server: DevServer) -> None:
    assert _get(server, "/favicon.ico").status_code == 404
    assert _get(server, "/v1/ingest/batch").status_code in (404, 405)
