"""The contact-centre wallboard: the live queue board on one screen (a TV in the contact centre, a
supervisor's browser), like Asternic's real-time view. Prometheus only, refreshed every 5 s.

Panels are data here; monitoring/dashboards.py renders them with the other dashboards into
`monitoring/grafana/dashboards/wallboard.json`. Titles and legends are in Russian, as the people
in the contact centre read them, or in English when the files are generated with REPORT_LANG=en.
"""

from __future__ import annotations

# (title, kind, [(PromQL, legend)], unit, width, height); a title or legend is {lang: text}
Text = dict[str, str]
PANELS: list[tuple[Text, str, list[tuple[str, Text]], str, int, int]] = [
    ({"ru": "Ждут ответа", "en": "Callers waiting"}, "stat",
     [("sum(pantao_live_calls_waiting)", {"ru": "всего", "en": "all queues"}),
      ("pantao_live_calls_waiting", {"ru": "{{queue}}", "en": "{{queue}}"})], "none", 8, 6),
    ({"ru": "Самое долгое ожидание", "en": "Longest wait now"}, "stat",
     [("max(pantao_live_longest_wait_seconds)", {"ru": "всего", "en": "all queues"}),
      ("pantao_live_longest_wait_seconds", {"ru": "{{queue}}", "en": "{{queue}}"})], "s", 8, 6),
    ({"ru": "Операторы", "en": "Operators"}, "stat",
     [('pantao_live_operators{state="logged_in"}', {"ru": "в системе", "en": "logged in"}),
      ('pantao_live_operators{state="on_call"}', {"ru": "говорят", "en": "on a call"}),
      ('pantao_live_operators{state="paused"}', {"ru": "на паузе", "en": "paused"}),
      ('pantao_live_operators{state="available"}', {"ru": "свободны", "en": "available"})], "none", 8, 6),
    ({"ru": "Звонки за 15 минут", "en": "Calls, last 15 minutes"}, "stat",
     [('sum(pantao_live_calls_last_15m{outcome="answered"})', {"ru": "отвечено", "en": "answered"}),
      ('sum(pantao_live_calls_last_15m{outcome="abandoned"})', {"ru": "брошено", "en": "abandoned"}),
      ('sum(pantao_live_calls_last_15m{outcome!~"answered|abandoned"})',
       {"ru": "вышли из очереди", "en": "left the queue"})], "none", 12, 5),
    ({"ru": "Без ответа за 15 минут", "en": "Unanswered, last 15 minutes"}, "stat",
     [('sum(pantao_live_calls_last_15m{outcome!="answered"}) / sum(pantao_live_calls_last_15m)',
       {"ru": "доля", "en": "share"})], "percentunit", 6, 5),
    ({"ru": "Свежесть табло", "en": "Board freshness"}, "stat",
     [("pantao_live_last_event_age_seconds", {"ru": "последнее событие", "en": "last event"}),
      ("time() - pantao_live_last_poll_timestamp_seconds", {"ru": "последний опрос", "en": "last poll"})],
     "s", 6, 5),
    ({"ru": "Ждут ответа по очередям", "en": "Callers waiting by queue"}, "timeseries",
     [("pantao_live_calls_waiting", {"ru": "{{queue}}", "en": "{{queue}}"})], "short", 12, 8),
    ({"ru": "Операторы по состоянию", "en": "Operators by state"}, "timeseries",
     [('pantao_live_operators{state="on_call"}', {"ru": "говорят", "en": "on a call"}),
      ('pantao_live_operators{state="paused"}', {"ru": "на паузе", "en": "paused"}),
      ('pantao_live_operators{state="available"}', {"ru": "свободны", "en": "available"})], "short", 12, 8),
    ({"ru": "Исходы звонков за скользящие 15 минут", "en": "Call outcomes over a sliding 15 minutes"},
     "timeseries", [("sum by (outcome) (pantao_live_calls_last_15m)", {"ru": "{{outcome}}", "en": "{{outcome}}"})],
     "short", 24, 7),
]
TITLE: Text = {"ru": "pantao · табло контакт-центра", "en": "pantao · contact-centre wallboard"}


def panels(lang: str) -> list[tuple[str, str, list[tuple[str, str]], str, int, int]]:
    """The panels with their texts in `lang` (REPORT_LANG: ru or en)."""
    return [(title[lang], kind, [(expr, legend[lang]) for expr, legend in queries], unit, width, height)
            for title, kind, queries, unit, width, height in PANELS]
