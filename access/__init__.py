"""Who may read what: PostgreSQL roles, users and their scopes, and the CSV export of the `reporting` views.

The rules live in the database itself (roles, grants, row filters inside the views), because
analysts connect their BI tools straight to PostgreSQL and no application layer sits between.
The views are dbt models (dbt_project/models/reporting/); this package creates what they read
(`access.viewer`, the salt) and administers the people.
"""
