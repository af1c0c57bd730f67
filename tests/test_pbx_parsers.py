"""The queue_log and Master.csv parsers: every event kind, bad lines, CRLF, non-UTF-8 names."""

from __future__ import annotations

import hashlib

import pytest

from ingestion.pbx.cdr_csv import parse_master_csv
from ingestion.pbx.formats import MASTER_CSV_COLUMNS, event_hash
from ingestion.pbx.parsers import iter_pieces, parse_queue_log
from tests import pbx_samples

# Every queue_log event kind of the domain reference, with realistic data fields.
EVENT_LINES = {
    "ENTERQUEUE": "1793520000|1793520000.10|700|NONE|ENTERQUEUE||+79161234567|1",
    "CONNECT": "1793520015|1793520000.10|700|PJSIP/101|CONNECT|15|1793520008.11|4",
    "COMPLETEAGENT": "1793520095|1793520000.10|700|PJSIP/101|COMPLETEAGENT|15|80|1",
    "COMPLETECALLER": "1793520095|1793520000.10|700|PJSIP/101|COMPLETECALLER|15|80|1",
    "ABANDON": "1793520012|1793520000.10|700|NONE|ABANDON|1|1|12",
    "EXITWITHTIMEOUT": "1793520300|1793520000.10|700|NONE|EXITWITHTIMEOUT|1|1|300",
    "EXITEMPTY": "1793520001|1793520000.10|700|NONE|EXITEMPTY|1|1|1",
    "EXITWITHKEY": "1793520020|1793520000.10|700|NONE|EXITWITHKEY|1|1|1|20",
    "RINGNOANSWER": "1793520008|1793520000.10|700|PJSIP/102|RINGNOANSWER|8000",
    "RINGCANCELED": "1793520009|1793520000.10|700|PJSIP/102|RINGCANCELED|3000",
    "TRANSFER": "1793520060|1793520000.10|700|PJSIP/101|TRANSFER|103|from-internal|15|45|1",
    "BLINDTRANSFER": "1793520060|1793520000.10|700|PJSIP/101|BLINDTRANSFER|103|from-internal-xfer|15|45|1",
    "ATTENDEDTRANSFER": "1793520060|1793520000.10|700|PJSIP/101|ATTENDEDTRANSFER|BRIDGE|1793520061.12|15|45|1",
    "ADDMEMBER": "1793500000|NONE|700|PJSIP/101|ADDMEMBER|",
    "REMOVEMEMBER": "1793540000|NONE|700|PJSIP/101|REMOVEMEMBER|",
    "AGENTLOGIN": "1793500000|NONE|700|PJSIP/101|AGENTLOGIN|PJSIP/101-0000001",
    "AGENTLOGOFF": "1793540000|NONE|700|PJSIP/101|AGENTLOGOFF|PJSIP/101-0000001|40000",
    "PAUSE": "1793510000|NONE|700|PJSIP/101|PAUSE|Обед",
    "UNPAUSE": "1793511800|NONE|700|PJSIP/101|UNPAUSE|Обед",
    "PAUSEALL": "1793510000|NONE|NONE|PJSIP/101|PAUSEALL|",
    "UNPAUSEALL": "1793511800|NONE|NONE|PJSIP/101|UNPAUSEALL|",
    "CONFIGRELOAD": "1793500000|NONE|NONE|NONE|CONFIGRELOAD|",
    "QUEUESTART": "1793500000|NONE|NONE|NONE|QUEUESTART|",
}


@pytest.mark.parametrize("event", sorted(EVENT_LINES))
def test_every_queue_log_event_kind_parses_into_columns(event: str) -> None:
    line = EVENT_LINES[event]
    parsed = parse_queue_log(line.encode() + b"\n")
    assert parsed.rejects == []
    (row,) = parsed.rows
    fields = line.split("|")
    data = (fields[5:] + [""] * 5)[:5]
    # The row is the canonical line's ten fields, the input of event_hash.
    assert list(row) == [fields[0], fields[1], fields[2], fields[3], event, *data]


def test_short_and_padded_lines_of_one_event_give_the_same_canonical_row() -> None:
    short = parse_queue_log(b"1793520008|1793520000.10|700|PJSIP/102|RINGNOANSWER|8000\n").rows[0]
    padded = parse_queue_log(b"1793520008|1793520000.10|700|PJSIP/102|RINGNOANSWER|8000||||\n").rows[0]
    assert list(short) == list(padded)


def test_extra_pipes_fold_into_data5_instead_of_being_lost() -> None:
    row = parse_queue_log(b"1|c|q|NONE|ENTERQUEUE|a|b|c|d|e|f\n").rows[0]
    assert row[9] == "e|f"


def test_event_hash_is_sha256_of_the_canonical_line() -> None:
    expected = hashlib.sha256(b"1793520008|1793520000.10|700|PJSIP/102|RINGNOANSWER|8000||||").hexdigest()
    assert event_hash(1793520008, "1793520000.10", "700", "PJSIP/102", "RINGNOANSWER",
                      ("8000", None, None, None, None)) == expected


def test_malformed_queue_log_lines_are_rejected_and_the_rest_lands() -> None:
    block = (b"1793520000|c1|700|NONE|ENTERQUEUE||+7916|1\n"
             b"garbage without pipes\n"
             b"17935x0000|c1|700|NONE|ABANDON|1|1|3\n"
             b"1793520001|c1|700|NONE||1\n"
             b"\n"
             b"1793520002|c1|700|NONE|ABANDON|1|1|2\n")
    parsed = parse_queue_log(block, name="queue_log", first_line=40)
    assert [r[4] for r in parsed.rows] == ["ENTERQUEUE", "ABANDON"]
    assert [(r.source_ref, r.raw_bytes) for r in parsed.rejects] == [
        ("queue_log:41", b"garbage without pipes"),
        ("queue_log:42", b"17935x0000|c1|700|NONE|ABANDON|1|1|3"),
        ("queue_log:43", b"1793520001|c1|700|NONE||1"),
    ]
    assert "got 1 field" in parsed.rejects[0].reason
    assert "epoch" in parsed.rejects[1].reason
    assert "empty event" in parsed.rejects[2].reason


def test_crlf_queue_log_lines_parse_like_lf_lines() -> None:
    lf = "".join(EVENT_LINES[e] + "\n" for e in sorted(EVENT_LINES)).encode()
    crlf = lf.replace(b"\n", b"\r\n")
    assert parse_queue_log(crlf).rows == parse_queue_log(lf).rows
    assert not any(f.endswith("\r") for row in parse_queue_log(crlf).rows for f in row)


def test_non_utf8_queue_log_line_is_decoded_and_rejects_keep_original_bytes() -> None:
    cp1251 = "1793510000|NONE|700|PJSIP/101|PAUSE|Обед\n".encode("cp1251")
    bad = "x|Иван\n".encode("cp1251")
    parsed = parse_queue_log(cp1251 + bad)
    assert parsed.rows[0][5] == "Обед"
    assert parsed.rejects[0].raw_bytes == bad.rstrip(b"\n")


def test_epoch_window_keeps_only_events_inside() -> None:
    block = b"100|c|q|NONE|ABANDON|1\n200|c|q|NONE|ABANDON|2\n300|c|q|NONE|ABANDON|3\n"
    assert [r[0] for r in parse_queue_log(block, epoch_range=(150, 300)).rows] == ["200"]


def _cdr(row: list[str]) -> dict:
    return dict(zip(MASTER_CSV_COLUMNS, row, strict=True))


def test_master_csv_rows_are_the_checked_fields_in_file_order() -> None:
    block = "".join(pbx_samples.master_csv_line(c) for c in pbx_samples.cdrs()).encode()
    parsed = parse_master_csv(block)
    assert parsed.rejects == []
    rows = [_cdr(r) for r in parsed.rows]
    expected = pbx_samples.cdrs()
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected, strict=True):
        assert got["start"] == want["calldate"]
        for col in ("clid", "src", "dst", "dcontext", "channel", "dstchannel", "lastapp", "lastdata",
                    "disposition", "uniqueid", "linkedid"):
            assert got[col] == want[col], col
        for col in ("duration", "billsec", "sequence"):
            assert got[col] == str(want[col]), col
        assert got["amaflags"] == "DOCUMENTATION"
    assert rows[0]["clid"] == '"Иван Петров" <+79161234567>'


def test_master_csv_accepts_numeric_amaflags_and_unquoted_numbers() -> None:
    line = ('"","+7916","700","ext-queues","x","PJSIP/t-1","","Queue","700","2026-11-01 10:00:00","",'
            '"2026-11-01 10:00:09",9,0,"NO ANSWER",3,"1.1","","","1.1",0\n')
    row = _cdr(parse_master_csv(line.encode()).rows[0])
    assert (row["amaflags"], row["duration"], row["disposition"]) == ("3", "9", "NO ANSWER")


def test_malformed_master_csv_rows_are_rejected_with_line_numbers() -> None:
    good = pbx_samples.master_csv_line(pbx_samples.cdrs()[0])
    bad_date = good.replace("2026-11-01 12:00:00", "01/11/2026 12:00")
    bad_number = good.replace('"95"', '"ninety"')
    unterminated = '"","+7916","700","ext-queues,"x\n'
    block = (good + '"too","few"\n' + bad_date + bad_number + unterminated + good).encode()
    parsed = parse_master_csv(block, first_line=1)
    assert len(parsed.rows) == 2  # the unterminated quote did not swallow the last good line
    refs = {r.source_ref: r.reason for r in parsed.rejects}
    assert list(refs) == ["Master.csv:2", "Master.csv:3", "Master.csv:4", "Master.csv:5"]
    assert "got 2" in refs["Master.csv:2"]
    assert "start" in refs["Master.csv:3"]
    assert "duration" in refs["Master.csv:4"]


def test_master_csv_crlf_and_cp1251_caller_names() -> None:
    line = pbx_samples.master_csv_line(pbx_samples.cdrs()[3]).replace("\n", "\r\n")
    parsed = parse_master_csv(line.encode("cp1251") + line.encode("utf-8"))
    assert parsed.rejects == []
    names = [_cdr(r)["clid"] for r in parsed.rows]
    assert names == ['"Сергей" <+79265554433>'] * 2
    assert all(_cdr(r)["sequence"] == "0" for r in parsed.rows)  # no "\r" left on the last field


def test_values_postgresql_would_refuse_are_rejected_not_copied() -> None:
    """An impossible date, an int4 overflow, a huge epoch or a NUL byte would fail the whole COPY."""
    good = pbx_samples.master_csv_line(pbx_samples.cdrs()[0])
    block = (good.replace("2026-11-01 12:00:00", "2026-02-30 12:00:00")
             + good.replace('"95"', '"9999999999"')
             + good.replace("Иван", "Ив\x00ан")
             + good).encode()
    parsed = parse_master_csv(block)
    assert len(parsed.rows) == 1
    assert [r.source_ref for r in parsed.rejects] == ["Master.csv:3", "Master.csv:1", "Master.csv:2"]
    assert "NUL" in parsed.rejects[0].reason

    ql = parse_queue_log(b"123456789012345|c|q|NONE|ABANDON|1|1|1||\n1|c|q|N\x00NE|ABANDON|1\n2|c|q|NONE|ABANDON|1\n")
    assert [r[0] for r in ql.rows] == ["2"]
    assert {r.source_ref for r in ql.rejects} == {"queue_log:1", "queue_log:2"}


def test_pieces_cover_the_block_on_line_boundaries_with_line_numbers() -> None:
    block = b"".join(f"{i}|c|q|NONE|ABANDON|1\n".encode() for i in range(1000))
    pieces = list(iter_pieces(block, first_line=5, size=1000))
    assert b"".join(p for _, p in pieces) == block
    assert all(p.endswith(b"\n") for _, p in pieces)
    rows = [r for first, p in pieces for r in parse_queue_log(p, first_line=first).rows]
    assert [r[0] for r in rows] == [str(i) for i in range(1000)]
    assert pieces[1][0] == 5 + pieces[0][1].count(b"\n")


# -- every cdr_csv layout ---------------------------------------------------------------------
# One CDR written under each cdr.conf [csv] configuration. The 16 base fields are the same; what
# follows them is, in cdr_csv.c's order: uniqueid (loguniqueid), userfield (loguserfield), then
# peeraccount, linkedid, sequence (newcdrcolumns).
BASE16 = ('"","+79161234567","700","ext-queues","""Иван"" <+79161234567>","PJSIP/trunk-00000001",'
          '"PJSIP/101-00000002","Queue","700,t","2026-11-01 12:00:00","2026-11-01 12:00:15",'
          '"2026-11-01 12:01:35","95","80","ANSWERED","DOCUMENTATION"')
LAYOUT_LINES = {
    "16": BASE16,
    "17u": BASE16 + ',"1793520000.10"',
    "17f": BASE16 + ',"vip"',
    "18": BASE16 + ',"1793520000.10","vip"',
    "19": BASE16 + ',"","1793520000.10","0"',
    "20u": BASE16 + ',"1793520000.10","","1793520000.10","0"',
    "20f": BASE16 + ',"vip","","1793520000.10","0"',
    "21": BASE16 + ',"1793520000.10","vip","","1793520000.10","0"',
}
# layout -> (uniqueid, userfield, linkedid, sequence) as placed; None = the layout has no such column
LAYOUT_PLACED = {
    "16": (None, None, None, None),
    "17u": ("1793520000.10", None, None, None),
    "17f": (None, "vip", None, None),
    "18": ("1793520000.10", "vip", None, None),
    "19": (None, None, "1793520000.10", "0"),
    "20u": ("1793520000.10", None, "1793520000.10", "0"),
    "20f": (None, "vip", "1793520000.10", "0"),
    "21": ("1793520000.10", "vip", "1793520000.10", "0"),
}


@pytest.mark.parametrize("layout", sorted(LAYOUT_LINES))
@pytest.mark.parametrize("setting", ["auto", "fixed"])
def test_every_cdr_csv_layout_lands_its_lines(layout: str, setting: str) -> None:
    parsed = parse_master_csv((LAYOUT_LINES[layout] + "\n").encode(), layout="auto" if setting == "auto" else layout)
    assert parsed.rejects == []
    (row,) = parsed.rows
    cdr = _cdr(row)
    assert (cdr["uniqueid"], cdr["userfield"], cdr["linkedid"], cdr["sequence"]) == LAYOUT_PLACED[layout]
    assert (cdr["start"], cdr["billsec"], cdr["dstchannel"]) == ("2026-11-01 12:00:00", "80", "PJSIP/101-00000002")


def test_a_file_whose_layout_changes_midway_is_read_line_by_line() -> None:
    # 2 lines with Asterisk's defaults, then loguniqueid + loguserfield, then newcdrcolumns too
    block = "".join(LAYOUT_LINES[name] + "\n" for name in ("16", "16", "18", "21")).encode()
    parsed = parse_master_csv(block)
    assert parsed.rejects == []
    assert [_cdr(r)["uniqueid"] for r in parsed.rows] == [None, None, "1793520000.10", "1793520000.10"]
    assert [_cdr(r)["linkedid"] for r in parsed.rows] == [None, None, None, "1793520000.10"]


def test_a_uniqueid_with_a_systemname_prefix_is_told_from_a_userfield() -> None:
    parsed = parse_master_csv((BASE16 + ',"pbx1-1793520000.10"\n').encode())
    assert _cdr(parsed.rows[0])["uniqueid"] == "pbx1-1793520000.10"


def test_a_fixed_layout_rejects_other_lines_naming_the_setting() -> None:
    parsed = parse_master_csv((LAYOUT_LINES["18"] + "\n" + LAYOUT_LINES["21"] + "\n").encode(), layout="18")
    assert len(parsed.rows) == 1
    (reject,) = parsed.rejects
    assert reject.source_ref == "Master.csv:2"
    assert "expected 18 Master.csv columns for PBX_CDR_CSV_LAYOUT=18, got 21" in reject.reason
    assert "PBX_CDR_CSV_LAYOUT=auto" in reject.reason


def test_an_empty_uniqueid_is_rejected_only_where_the_layout_has_one() -> None:
    parsed = parse_master_csv((BASE16 + ',""\n' + BASE16 + ',"",""\n').encode())
    # 17 fields with an empty 17th: a userfield (17f), fine; 18 fields: an empty uniqueid, rejected
    assert [_cdr(r)["userfield"] for r in parsed.rows] == [""]
    assert [(r.source_ref, r.reason) for r in parsed.rejects] == [("Master.csv:2", "empty uniqueid")]


# -- queue_log as real PBXs write it ----------------------------------------------------------
REAL_EVENT_LINES = {
    # Asterisk 1.4: EXITWITHKEY key|position, CONNECT without ringtime, TRANSFER without origposition
    "EXITWITHKEY 1.4": ("1793520020|1793520000.10|700|NONE|EXITWITHKEY|2|1", ["2", "1", "", "", ""]),
    "CONNECT 1.4": ("1793520015|1793520000.10|700|SIP/101|CONNECT|15|1793520008.11", ["15", "1793520008.11", "", "", ""]),
    "TRANSFER 1.4": ("1793520060|1793520000.10|700|SIP/101|TRANSFER|300|from-internal|15|45",
                     ["300", "from-internal", "15", "45", ""]),
    "AGENTCALLBACKLOGIN": ("1793500000|1793500000.1|NONE|Agent/1001|AGENTCALLBACKLOGIN|101@from-internal",
                           ["101@from-internal", "", "", "", ""]),
    "AGENTCALLBACKLOGOFF": ("1793540000|NONE|NONE|Agent/1001|AGENTCALLBACKLOGOFF|101@from-internal|40000|Autologoff",
                            ["101@from-internal", "40000", "Autologoff", "", ""]),
    # Asterisk 12+: ATTENDEDTRANSFER LINK has six data fields; the sixth folds into data5 as in the database
    "ATTENDEDTRANSFER LINK": (
        "1793520060|1793520000.10|700|PJSIP/101|ATTENDEDTRANSFER|LINK|PJSIP/101-0001|PJSIP/300-0002|15|45|1",
        ["LINK", "PJSIP/101-0001", "PJSIP/300-0002", "15", "45|1"]),
    "ATTENDEDTRANSFER APP": ("1793520060|1793520000.10|700|PJSIP/101|ATTENDEDTRANSFER|APP|Dial|15|45|1",
                             ["APP", "Dial", "15", "45", "1"]),
    # FreePBX: the DID line, dynamic agents by display name, Local channels, ADDMEMBER from the dialplan
    "DID": ("1793520000|1793520000.10|700|NONE|DID|+74951234567", ["+74951234567", "", "", "", ""]),
    "display name": ("1793520015|1793520000.10|700|Анна Петрова|CONNECT|15|1793520008.11|4",
                     ["15", "1793520008.11", "4", "", ""]),
    "Local from-queue": ("1793520015|1793520000.10|700|Local/101@from-queue/n|CONNECT|15|1793520008.11|4",
                         ["15", "1793520008.11", "4", "", ""]),
    "ADDMEMBER dialplan": ("1793500000|1793499990.5|700|Анна Петрова|ADDMEMBER|", ["", "", "", "", ""]),
    "ADDMEMBER paused": ("1793500000|MANAGER|700|PJSIP/101|ADDMEMBER|PAUSED", ["PAUSED", "", "", "", ""]),
    "PAUSEALL reason": ("1793510000|NONE|NONE|PJSIP/101|PAUSEALL|Обед", ["Обед", "", "", "", ""]),
    "INFO": ("1793520000|1793520000.10|700|NONE|INFO|anything|at all", ["anything", "at all", "", "", ""]),
}


@pytest.mark.parametrize("variant", sorted(REAL_EVENT_LINES))
def test_real_queue_log_variants_land_as_written(variant: str) -> None:
    line, data = REAL_EVENT_LINES[variant]
    parsed = parse_queue_log(line.encode() + b"\n")
    assert parsed.rejects == []
    (row,) = parsed.rows
    assert list(row[5:]) == data
    assert list(row[:5]) == line.split("|")[:5]
