"""Apply a provisioning spec inside Superset (runs in .venv-bi: `python -m bi.superset_apply SPEC.json`).

The spec is written by bi/provision.py: the import bundle, the people who get an account, and
what to do. Superset's own commands do the work (metadata migrations, `superset init`'s role
sync, the assets import that `/api/v1/assets/import/` uses), so this module only glues them.
Standard library + Superset only; prints one JSON line of what it did.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
from pathlib import Path

from bi.identity import READER_ROLE, SUPERSET_ROLES

log = logging.getLogger("bi.superset_apply")

# Owns the provisioned objects; inactive, and no PostgreSQL login has its name: nobody signs in as it.
PROVISIONER = "pantao_provisioner"


def _provisioner(sm):  # noqa: ANN001, ANN202
    user = sm.find_user(username=PROVISIONER)
    if user is None:
        user = sm.add_user(PROVISIONER, "pantao", "provisioning", f"{PROVISIONER}@pantao.invalid",
                           [sm.find_role("Admin")], password=secrets.token_urlsafe(32))
    user.active = False
    return user


def _import_assets(files: dict[str, str]) -> None:
    from superset.commands.importers.v1.assets import ImportAssetsCommand

    ImportAssetsCommand(files).run()


def _fix_filter_scopes(dashboard_uuids: list[str]) -> None:
    """chartsInScope holds chart ids, which the importer leaves as they were in the bundle."""
    from superset import db
    from superset.models.dashboard import Dashboard

    for uuid in dashboard_uuids:
        dashboard = db.session.query(Dashboard).filter_by(uuid=uuid).one()
        metadata = json.loads(dashboard.json_metadata or "{}")
        ids = sorted(chart.id for chart in dashboard.slices)
        for flt in metadata.get("native_filter_configuration", []):
            excluded = set(flt.get("scope", {}).get("excluded", []))
            flt["chartsInScope"] = [i for i in ids if i not in excluded]
        dashboard.json_metadata = json.dumps(metadata)


def _reader_role(sm, database_name: str):  # noqa: ANN001, ANN202
    from superset import db
    from superset.models.core import Database

    database = db.session.query(Database).filter_by(database_name=database_name).one()
    role = sm.find_role(READER_ROLE) or sm.add_role(READER_ROLE)
    sm.add_permission_role(role, sm.add_permission_view_menu("database_access", database.perm))
    return role


def _sync_users(sm, people: list[dict], remove: list[str], prune: bool) -> dict[str, list[str]]:  # noqa: ANN001
    """Give each person their account and roles; remove `remove`, and with `prune` everyone else too."""
    from superset import db

    done: dict[str, list[str]] = {"added": [], "updated": [], "removed": []}
    wanted = {p["username"]: p for p in people}
    for name, person in wanted.items():
        roles = [sm.find_role(r) for r in SUPERSET_ROLES[person["role"]]]
        user = sm.find_user(username=name)
        if user is None:
            sm.add_user(name, name, person["role"].removeprefix("crm_"), f"{name}@users.pantao.invalid", roles,
                        password=secrets.token_urlsafe(32))  # never used: PostgreSQL checks the password
            done["added"].append(name)
        elif {r.name for r in user.roles} != {r.name for r in roles} or not user.active:
            user.roles = roles
            user.active = True
            done["updated"].append(name)
    doomed = set(remove) - set(wanted)
    if prune:
        doomed |= {u.username for u in sm.get_all_users()} - set(wanted) - {PROVISIONER}
    for name in sorted(doomed):
        user = sm.find_user(username=name)
        if user is not None:
            _remove_user(db, user)
            done["removed"].append(name)
    return done


def _remove_user(db, user) -> None:  # noqa: ANN001
    """Delete the user; if their saved objects still point at them, lock the account instead."""
    try:
        with db.session.begin_nested():
            db.session.delete(user)
            db.session.flush()
    except Exception:  # noqa: BLE001 (an integrity error from any referencing table)
        user.active = False
        user.roles = []
        log.info("user %s still owns objects: locked instead of deleted", user.username)


def apply(spec: dict) -> dict:
    from flask import g
    from superset import db, security_manager
    from superset.app import create_app

    app = create_app()
    with app.app_context(), app.test_request_context():
        report: dict = {}
        if spec["assets"]:
            from flask_migrate import upgrade

            upgrade()  # `superset db upgrade`
            app.appbuilder.add_permissions(update_perms=True)  # `superset init`
            security_manager.sync_role_definitions()
            db.session.commit()
            g.user = _provisioner(security_manager)
            db.session.commit()
            _import_assets(spec["bundle"])
            _fix_filter_scopes(spec["dashboard_uuids"])
            _reader_role(security_manager, spec["database_name"])
            db.session.commit()
            report["assets"] = len(spec["bundle"])
        report["users"] = _sync_users(security_manager, spec["people"], spec["remove"], spec["prune_users"])
        db.session.commit()
        return report


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    print(json.dumps(apply(spec)))


if __name__ == "__main__":
    main()
