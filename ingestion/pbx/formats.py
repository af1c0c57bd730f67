"""The FreePBX record shapes in one place: column lists, the canonical queue_log line and its hash.

All three source modes (files, MariaDB, API) turn their input into the same tuples through
these helpers, which is what makes them land identical rows: a queue_log event read from the
file and the same event read from the database hash to the same `event_hash`.
"""

from __future__ import annotations

import hashlib

# event_hash in SQL over the COPY temp table: C speed, off the parser's critical path.
EVENT_HASH_SQL = (
    "encode(sha256(convert_to(concat_ws('|', epoch::text, callid, queuename, agent, event,"
    " data1, data2, data3, data4, data5), 'UTF8')), 'hex')"
)

# raw.pbx_cdr: the FreePBX `asteriskcdrdb.cdr` column set, in table order.
CDR_COLUMNS: tuple[str, ...] = (
    "calldate", "clid", "src", "dst", "dcontext", "channel", "dstchannel", "lastapp", "lastdata",
    "duration", "billsec", "disposition", "amaflags", "accountcode", "uniqueid", "userfield", "did",
    "recordingfile", "cnum", "cnam", "outbound_cnum", "outbound_cnam", "dst_cnam", "linkedid",
    "peeraccount", "sequence",
)
CDR_INT_COLUMNS = frozenset({"duration", "billsec", "amaflags", "sequence"})

# Every column Master.csv can carry, in file order: cdr_csv's 16 base columns, then `uniqueid`
# (loguniqueid=yes), `userfield` (loguserfield=yes) and `peeraccount, linkedid, sequence`
# (newcdrcolumns=yes). Parsed rows always have these 21 positions; a column the file's layout
# lacks is None (NULL in PostgreSQL), never ''.
MASTER_CSV_COLUMNS: tuple[str, ...] = (
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata",
    "start", "answer", "end", "duration", "billsec", "disposition", "amaflags", "uniqueid",
    "userfield", "peeraccount", "linkedid", "sequence",
)
CDR_CSV_BASE_COLUMNS = 16

# cdr_csv layout name -> the optional columns it writes after the 16 base ones (cdr_csv.c:
# uniqueid if loguniqueid, userfield if loguserfield, then the three newcdrcolumns).
CDR_CSV_LAYOUTS: dict[str, tuple[str, ...]] = {
    "16": (),
    "17u": ("uniqueid",),
    "17f": ("userfield",),
    "18": ("uniqueid", "userfield"),
    "19": ("peeraccount", "linkedid", "sequence"),
    "20u": ("uniqueid", "peeraccount", "linkedid", "sequence"),
    "20f": ("userfield", "peeraccount", "linkedid", "sequence"),
    "21": ("uniqueid", "userfield", "peeraccount", "linkedid", "sequence"),
}

# The CDR columns every source mode provides (Master.csv has no did/recordingfile/cnum/...):
# the set on which the three modes are comparable.
CDR_COMMON_COLUMNS: tuple[str, ...] = tuple(
    c for c in CDR_COLUMNS if c in MASTER_CSV_COLUMNS or c == "calldate"
)

# raw.pbx_cdr's natural key. A CDR with uniqueid, linkedid and sequence (the database, the API,
# Master.csv with loguniqueid + newcdrcolumns) is keyed by them, identically in every mode. A
# Master.csv layout without them keys the record by an md5 of all its fields: re-reading the
# same line lands nothing new, and two calls never share a key. Evaluated over the COPY temp
# tables (store.py), whose columns carry the raw.pbx_cdr / Master.csv names.
def cdr_key_sql(fields: tuple[str, ...]) -> str:
    hashed = ", ".join(f"coalesce(\"{f}\"::text, '')" for f in fields)
    return ("case when uniqueid is not null and linkedid is not null and sequence is not null"
            " then concat_ws('|', uniqueid, linkedid, sequence::text)"
            f" else 'md5:' || md5(concat_ws(',', {hashed})) end")


# The queue_log COPY tuple: the canonical line's ten fields, missing data fields as ''.
# PostgreSQL derives event_hash, event_at and NULL data fields from it (see store.py).
QUEUE_LOG_COLUMNS: tuple[str, ...] = (
    "epoch", "callid", "queuename", "agent", "event", "data1", "data2", "data3", "data4", "data5",
)

# Asterisk writes amaflags as a word in Master.csv and as a number in the database
# (enum ama_flags: NONE 0, OMIT 1, BILLING 2, DOCUMENTATION 3).
AMAFLAGS = {"": 0, "NONE": 0, "DEFAULT": 0, "OMIT": 1, "BILLING": 2, "DOCUMENTATION": 3, "UNKNOWN": 0}


def event_hash(epoch: int, callid: str, queuename: str, agent: str, event: str,
               data: tuple[str | None, ...]) -> str:
    """sha256 of the canonical line `epoch|callid|queuename|agent|event|data1|…|data5`.

    Missing data fields count as empty, so a file line with three data fields and the database
    row with data4/data5 = '' produce the same hash. The landing computes the same value in
    SQL (EVENT_HASH_SQL); this is the reference the tests hold it to.
    """
    canonical = "|".join((str(epoch), callid, queuename, agent, event, *(d or "" for d in data)))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def queue_log_row(epoch: int | str, callid: str, queuename: str, agent: str, event: str,
                  data: list[str] | tuple[str, ...]) -> list:
    """The COPY tuple for one queue_log event; `data` may hold 0..n fields (extras fold into data5)."""
    fields = list(data)
    if len(fields) > 5:
        fields = fields[:4] + ["|".join(fields[4:])]
    fields += [""] * (5 - len(fields))
    return [epoch, callid, queuename, agent, event, *fields]
