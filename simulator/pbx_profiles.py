"""The PBX configurations the simulator can write: the same calls, as different real PBXs log them.

A profile changes only how the contact centre is written (Master.csv layout and clock, queue_log
agent names and event forms), never what happened, so truth.json is the same for every profile
of a seed. The forms follow Asterisk's own sources (docs/contracts.md §2 cites them):
- `newcdr` (default): Master.csv with loguniqueid, loguserfield and newcdrcolumns (21 columns),
  PJSIP members, BLINDTRANSFER and ATTENDEDTRANSFER BRIDGE, RINGCANCELED, queue_log lines padded
  to ten fields; the other profiles write only the data fields an event has, as Asterisk does.
- `asterisk-default`: Asterisk 11 as installed: Master.csv with cdr_csv's defaults (16 columns)
  until the admin turns on loguserfield halfway (17 columns); chan_sip and IAX2 members and
  chan_agent agents (`Agent/103`, AGENTLOGIN/AGENTLOGOFF with queue NONE); legacy TRANSFER; no
  RINGCANCELED (added in 2016).
- `freepbx-16`: FreePBX 16 on Asterisk 16: Master.csv with loguniqueid and loguserfield (18
  columns) and usegmtime=yes (UTC times); `Local/101@from-queue/n` members; pauses from the
  feature code (PAUSEALL plus a PAUSE per queue); DID lines; CONFIGRELOAD.
- `freepbx-17`: FreePBX 17 on Asterisk 22, the server clock in Europe/Berlin (DST): Master.csv
  with loguniqueid only (17 columns), then newcdrcolumns turned on halfway (21); dynamic agents
  logged in with the toggle code under their display name, the others `Local/102@from-internal/n`;
  ATTENDEDTRANSFER in its APP and LINK forms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_PROFILE = "newcdr"


@dataclass(frozen=True)
class PbxProfile:
    name: str
    cdr_layouts: tuple[str, str]  # Master.csv layout of the first and the second half of the run
    cdr_times: str  # "local" (the PBX's clock) or "utc" (usegmtime=yes)
    pbx_timezone: str | None  # the PBX's clock; None = the business time zone
    agent: Callable[[str, str], str]  # (extension, name) -> the queue_log agent field
    agent_sessions: Callable[[str], bool]  # extension -> logs in as a chan_agent agent (AGENTLOGIN)
    transfer: str  # "modern": BLINDTRANSFER/ATTENDEDTRANSFER; "legacy": TRANSFER
    attended_forms: tuple[str, ...]  # ATTENDEDTRANSFER forms used in turn: BRIDGE, APP, LINK
    ring_canceled: bool  # RINGCANCELED lines for rings cut short by the caller leaving
    pause_all: bool  # pauses logged as PAUSEALL/UNPAUSEALL plus a PAUSE/UNPAUSE per queue
    did_lines: bool  # FreePBX's `DID` line before ENTERQUEUE
    config_reload: bool  # a CONFIGRELOAD housekeeping line each morning
    padded_lines: bool = False  # every queue_log line padded to ten fields (as exported from a database)

    def cdr_layout(self, day_index: int, days: int) -> str:
        return self.cdr_layouts[0] if day_index < days / 2 else self.cdr_layouts[1]


def _asterisk11_agent(ext: str, _name: str) -> str:
    kind = int(ext) % 3
    return f"SIP/{ext}" if kind == 0 else f"IAX2/{ext}" if kind == 1 else f"Agent/{ext}"


PROFILES: dict[str, PbxProfile] = {
    "newcdr": PbxProfile(
        "newcdr", ("21", "21"), "local", None, lambda ext, _name: f"PJSIP/{ext}", lambda _ext: False,
        "modern", ("BRIDGE",), True, False, False, False, padded_lines=True),
    "asterisk-default": PbxProfile(
        "asterisk-default", ("16", "17f"), "local", None, _asterisk11_agent, lambda ext: int(ext) % 3 == 2,
        "legacy", (), False, False, False, False),
    "freepbx-16": PbxProfile(
        "freepbx-16", ("18", "18"), "utc", None, lambda ext, _name: f"Local/{ext}@from-queue/n",
        lambda _ext: False, "modern", ("BRIDGE",), True, True, True, True),
    "freepbx-17": PbxProfile(
        "freepbx-17", ("17u", "21"), "local", "Europe/Berlin",
        lambda ext, name: name if int(ext) % 2 else f"Local/{ext}@from-internal/n", lambda _ext: False,
        "modern", ("APP", "LINK"), True, False, True, True),
}


def get_profile(name: str) -> PbxProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown PBX profile {name!r}; expected one of {', '.join(PROFILES)}") from None
