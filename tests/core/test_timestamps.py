"""One timestamp parser: the same answer for the same string on every supported Python."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from ripples import Ripples, RipplesValidationError
from ripples.dev import DevServer

NOON = "2024-05-01T12:00:00Z"

#: Strings that other systems emit for 2024-05-01 12:00:00 UTC (to the second).
SAME_SECOND = {
    "RFC 3339": "2024-05-01T12:00:00Z",
    "lowercase t and z": "2024-05-01t12:00:00z",
    "JS toISOString": "2024-05-01T12:00:00.000Z",
    "Go RFC3339Nano, trimmed": "2024-05-01T12:00:00.5Z",
    "Go RFC3339Nano, nanoseconds": "2024-05-01T12:00:00.123456789Z",
    "Java/Jackson +0000": "2024-05-01T12:00:00.000+0000",
    "PostgreSQL timestamptz::text": "2024-05-01 12:00:00.12+00",
    "offset with colon": "2024-05-01T14:00:00+02:00",
    "negative offset": "2024-05-01T07:30:00-04:30",
    "naive means UTC": "2024-05-01T12:00:00",
    "comma fraction": "2024-05-01T12:00:00,25Z",
    "basic format": "20240501T120000Z",
    "minutes only": "2024-05-01T12:00Z",
    "surrounding spaces": "  2024-05-01T12:00:00Z ",
}

BAD = [
    "",
    "yesterday",
    "2024-13-01T12:00:00Z",
    "2024-05-01T25:00:00Z",
    "2024-05-01T12:00:00+24:00",
    "2024-05-01T12:00:00Zjunk",
    "2024-05-01T12",
    "1714564800",
]


@pytest.fixture(scope="module")
def collector() -> DevServer:
    with DevServer() as server:
        yield server  # type: ignore[misc]


@pytest.mark.parametrize("label", sorted(SAME_SECOND))
def test_common_iso_strings_are_accepted_on_every_python(collector: DevServer, label: str) -> None:
    collector.clear()
    with Ripples("priv_test", base_url=collector.url) as client:
        client.track("imported order", "user_1", timestamp=SAME_SECOND[label])
        assert client.flush(timeout=10)
    assert collector.events()[0]["$sent_at"] == NOON


def test_fractions_are_truncated_to_microseconds_and_offsets_applied(collector: DevServer) -> None:
    from ripples._timestamps import parse_iso8601

    parsed = parse_iso8601("2024-05-01T12:00:00.1234569-01:00")
    assert parsed == datetime(2024, 5, 1, 13, 0, 0, 123456, tzinfo=timezone.utc)
    assert parse_iso8601("2024-05-01") == datetime(2024, 5, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", BAD)
def test_strings_that_are_not_iso_8601_are_refused_at_the_call_site(text: str) -> None:
    client = Ripples(disabled=True)
    with pytest.raises(RipplesValidationError, match="timestamp"):
        client.track("a", "user_1", timestamp=text)


@pytest.mark.parametrize(
    "value",
    [
        datetime(2024, 5, 1, 12, 0, 0),
        datetime(2024, 5, 1, 14, 0, 0, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_datetimes_naive_meaning_utc(collector: DevServer, value: datetime) -> None:
    collector.clear()
    with Ripples("priv_test", base_url=collector.url) as client:
        client.track("a", "user_1", timestamp=value)
        assert client.flush(timeout=10)
    assert collector.events()[0]["$sent_at"] == NOON


def test_a_date_is_midnight_utc(collector: DevServer) -> None:
    collector.clear()
    with Ripples("priv_test", base_url=collector.url) as client:
        client.signup("user_1", timestamp=date(2024, 5, 1))
        assert client.flush(timeout=10)
    assert collector.events()[0]["$sent_at"] == "2024-05-01T00:00:00Z"


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:30:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "0999-06-01T00:00:00Z",
        "\u0662\u0660\u0662\u0664-\u0660\u0665-\u0660\u0661",  # Arabic-Indic digits
        datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
        date(500, 1, 1),
    ],
)
def test_timestamps_out_of_range_are_validation_errors_never_overflow(value: object) -> None:
    with pytest.raises(RipplesValidationError, match="timestamp"):
        Ripples(disabled=True).track("a", "user_1", timestamp=value)
