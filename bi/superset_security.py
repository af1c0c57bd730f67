"""Sign-in and database identity for Superset (runs inside .venv-bi; standard library + Superset only).

Sign-in: a person's password is checked by PostgreSQL itself, by opening a connection with their
login and password. Superset stores no usable password, removing or locking the login in
PostgreSQL locks Superset too, and a person has one password for psql, exports and dashboards.

Queries: Superset connects as the person's BI login (`bi.<name>`, password derived from the
secret key) with `-c role=<name>`, so PostgreSQL runs every statement as the person's own role. Without a
signed-in person (Superset's own background work) there is no identity and nothing is read.
"""

from __future__ import annotations

import logging
import os

import psycopg2
from flask_appbuilder.const import LOGMSG_WAR_SEC_LOGIN_FAILED
from superset.security import SupersetSecurityManager

from bi.identity import bi_login, bi_password

log = logging.getLogger(__name__)

# A login that cannot exist (no person's name has a space): connections without a person fail closed.
NOBODY = "pantao bi: no signed-in person"


def _warehouse() -> dict[str, str]:
    return {
        "host": os.environ["PANTAO_BI_WAREHOUSE_HOST"],
        "port": os.environ["PANTAO_BI_WAREHOUSE_PORT"],
        "dbname": os.environ["PANTAO_BI_WAREHOUSE_DB"],
    }


def password_is_valid(username: str, password: str) -> bool:
    """True when PostgreSQL accepts this login and password (the connection is closed at once)."""
    try:
        psycopg2.connect(user=username, password=password, connect_timeout=10,
                         application_name="pantao-bi-signin", **_warehouse()).close()
        return True
    except psycopg2.OperationalError as exc:
        # wrong password, no such role, NOLOGIN, or the server is down: all mean "no"; say which in the log
        log.info("sign-in of %s refused by PostgreSQL: %s", username, str(exc).strip().splitlines()[0])
        return False


class PantaoSecurityManager(SupersetSecurityManager):
    def auth_user_db(self, username, password):  # noqa: ANN001, ANN201 (FAB's signature)
        if not username or not password:
            return None
        user = self.find_user(username=username)
        if user is None or not user.is_active:
            log.info(LOGMSG_WAR_SEC_LOGIN_FAILED, username)
            return None
        if not password_is_valid(username, password):
            self.update_user_auth_stat(user, False)
            return None
        self.update_user_auth_stat(user, True)
        return user


def connection_for_person(uri, params, username, security_manager, source):  # noqa: ANN001, ANN201
    """DB_CONNECTION_MUTATOR: connect as the signed-in person's BI login acting as them, or as no one."""
    if not username:
        return uri.set(username=NOBODY, password=None), params
    secret = os.environ["PANTAO_BI_SECRET_KEY"]
    connect_args = dict(params.get("connect_args") or {})
    # the person's own role from the first statement on; PostgreSQL refuses any role but theirs
    connect_args["options"] = f"-c role={username}"
    connect_args.setdefault("application_name", "pantao-bi")
    return (uri.set(username=bi_login(username), password=bi_password(secret, username)),
            {**params, "connect_args": connect_args})
