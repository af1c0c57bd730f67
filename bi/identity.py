"""Who a Superset user is in PostgreSQL: shared by `pantao users` (.venv) and Superset (.venv-bi).

Each person with a BI account has a BI login `bi.<name>` whose password is derived from the BI
secret key, so neither side stores it: `pantao users` sets it, Superset's connection hook
recomputes it for the signed-in person. The derivation uses its own label, so the key that
signs Superset's sessions is never used directly as a database password. Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from pantao.domain import BI_LOGIN_PREFIX, BI_ROLES

# Superset role that may read our database's datasets (given `database_access` on it).
READER_ROLE = "pantao_reader"

# PostgreSQL group role -> the Superset roles of a person in it. Data access is decided by
# PostgreSQL (every query runs as the person); these roles decide what Superset lets them do.
SUPERSET_ROLES: dict[str, tuple[str, ...]] = {
    "crm_admin": ("Admin",),
    "crm_manager": ("Gamma", READER_ROLE),
    "crm_analyst": ("Gamma", "sql_lab", READER_ROLE),
}
assert set(SUPERSET_ROLES) == set(BI_ROLES)

_LABEL = b"pantao-bi-login:"


def bi_login(username: str) -> str:
    """The PostgreSQL login Superset uses on behalf of `username`."""
    return BI_LOGIN_PREFIX + username


def bi_password(secret_key: str, username: str) -> str:
    """The BI login's password: HMAC-SHA256 of the user name under the BI secret key."""
    digest = hmac.new(secret_key.encode(), _LABEL + username.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
