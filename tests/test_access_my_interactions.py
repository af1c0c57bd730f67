"""reporting.my_interactions on the long warehouse, through an operator's own login, against the
simulator: their answered calls per day and their ratings (truth.json), and the comments customers
wrote (the simulator's feedback messages, as published)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.test_access_helpers import Login, Users, fetch

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def busiest(long_warehouse) -> Iterator[tuple[str, Login]]:
    """The extension with the most answered calls, and a crm_operator login for it (removed afterwards)."""
    handled = Counter()
    for rows in long_warehouse.truth["operator_daily"].values():
        for extension, kpis in rows.items():
            handled[extension] += kpis["calls_handled_count"]
    extension = handled.most_common(1)[0][0]
    users = Users(long_warehouse.database_url)
    try:
        yield extension, users.add("myint", "crm_operator", operator_extension=extension)
    finally:
        users.cleanup()


def _published_comments(long_warehouse, extension: str) -> Counter:
    """Comments of call ratings of `extension`, per score, from the feedback messages the simulator wrote."""
    comments = Counter()
    for line in (long_warehouse.out_dir / "kafka" / "feedback.jsonl").read_text(encoding="utf-8").splitlines():
        message = json.loads(line)
        try:
            rating = json.loads(message["value"])
        except (KeyError, ValueError):
            continue  # bytes that are no JSON: malformed on purpose
        if not isinstance(rating, dict) or "-BAD" in str(rating.get("rating_id")):
            continue  # a malformed record the simulator made on purpose (simulator/malformed.py)
        if (rating.get("subject_type") == "call"
                and rating.get("operator_extension") == extension and (rating.get("comment") or "").strip()):
            comments[(rating["rating_id"], rating["score"])] += 1
    return comments


def test_an_operator_sees_each_call_they_answered_and_its_rating(long_warehouse, busiest):
    extension, login = busiest
    truth = {day: rows[extension] for day, rows in long_warehouse.truth["operator_daily"].items() if extension in rows}
    rows = fetch(login.dsn, "select business_date::text, count(*), count(rating_score), avg(rating_score), "
                            "count(distinct operator_extension) from reporting.my_interactions group by 1")
    seen = {day: (n, rated, float(mean) if mean is not None else None, ext) for day, n, rated, mean, ext in rows}
    expected = {day: kpis for day, kpis in truth.items() if kpis["calls_handled_count"]}
    assert set(seen) == set(expected)
    for day, kpis in expected.items():
        n, rated, mean, extensions = seen[day]
        assert (n, rated, extensions) == (kpis["calls_handled_count"], kpis["ratings_count"], 1), day
        assert mean == pytest.approx(kpis["rating_mean"]) if kpis["rating_mean"] is not None else mean is None


def test_the_comments_are_the_customers_own_words_on_the_operators_calls(long_warehouse, busiest):
    extension, login = busiest
    shown = fetch(login.dsn, "select count(*) from reporting.my_interactions where rating_comment is not null")[0][0]
    published = _published_comments(long_warehouse, extension)
    assert shown == sum(published.values()) > 0
