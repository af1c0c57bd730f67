"""The argument checks of the user-administration functions (access/sql.py): names, scopes, verifiers.

Plain (not SECURITY DEFINER) functions, created before the functions that call them. They hold
the rules the database enforces whatever client calls it; access/users.py repeats the simple ones
in Python only to word the refusal before a round trip.
"""

from __future__ import annotations

from access.sql import RESERVED_NAMES, ROLE_LIST
from pantao.domain import GROUP_ROLES

CHECKS = f"""
create or replace function access._check_username(p_username text) returns void
language plpgsql immutable set search_path = pg_catalog, pg_temp as $$
begin
    if p_username is null or p_username !~ '^[a-z_][a-z0-9_]{{0,62}}$' then
        raise exception 'invalid user name %: use 1-63 lowercase letters, digits or underscores, starting with a letter or underscore',
            coalesce(quote_literal(p_username), 'null') using errcode = '22023';
    end if;
    if p_username like 'pg\\_%' or p_username = any(array[{", ".join(f"'{n}'" for n in RESERVED_NAMES)}]) then
        raise exception 'user name % is reserved; pick another one', p_username using errcode = '22023';
    end if;
end $$;

-- A SCRAM-SHA-256 verifier as PostgreSQL stores it and libpq's PQencryptPasswordConn makes it:
-- SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, base64 fields, 32-byte keys.
-- Anything else would be taken by CREATE ROLE ... PASSWORD as a clear-text password.
create or replace function access._check_verifier(p_verifier text) returns void
language plpgsql immutable set search_path = pg_catalog, pg_temp as $$
declare
    parts text[];
    valid boolean := false;
begin
    parts := regexp_match(coalesce(p_verifier, ''),
        '^SCRAM-SHA-256\\$([0-9]{{1,9}}):([A-Za-z0-9+/]+={{0,2}})\\$([A-Za-z0-9+/]+={{0,2}}):([A-Za-z0-9+/]+={{0,2}})$');
    if parts is not null then
        begin
            valid := parts[1]::int >= 4096
                 and length(decode(parts[2], 'base64')) >= 16
                 and length(decode(parts[3], 'base64')) = 32
                 and length(decode(parts[4], 'base64')) = 32;
        exception when others then
            valid := false;  -- not base64 after all
        end;
    end if;
    if not valid then
        -- never echo the value: it is a password or the next thing to one
        raise exception 'the password must arrive as a SCRAM-SHA-256 verifier (SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, at least 4096 iterations, as libpq''s PQencryptPasswordConn makes it), never in clear text; the pantao CLI computes it'
            using errcode = '22023';
    end if;
end $$;

create or replace function access._check_scope(p_role text, p_operator_extension text, p_restaurant_ids int[])
returns void language plpgsql immutable set search_path = pg_catalog, pg_temp as $$
begin
    if p_role is null or p_role <> all(array[{ROLE_LIST}]) then
        raise exception 'invalid role %: use one of {", ".join(GROUP_ROLES)}', coalesce(quote_literal(p_role), 'null')
            using errcode = '22023';
    end if;
    if p_operator_extension is not null and p_operator_extension !~ '^[0-9]{{1,10}}$' then
        raise exception 'invalid operator extension %: use the PBX extension digits, e.g. 101', quote_literal(p_operator_extension)
            using errcode = '22023';
    end if;
    if p_role = 'crm_operator' and p_operator_extension is null then
        raise exception 'an operator needs their PBX extension (--operator EXT): it decides which rows they see'
            using errcode = '22023';
    end if;
    if coalesce(cardinality(p_restaurant_ids), 0) > 0 then
        if p_role <> 'crm_manager' then
            raise exception 'restaurants limit only managers (role crm_manager), not %', p_role using errcode = '22023';
        end if;
        if exists (select 1 from unnest(p_restaurant_ids) id where id is null or id < 1) then
            raise exception 'restaurant ids must be positive integers, got %', p_restaurant_ids using errcode = '22023';
        end if;
    end if;
end $$;
"""

CHECK_FUNCTIONS = (
    "access._check_username(text)",
    "access._check_verifier(text)",
    "access._check_scope(text, text, int[])",
)
