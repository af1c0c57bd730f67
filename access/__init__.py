"""Who may read what: PostgreSQL roles, the `reporting` views analysts use, user administration, CSV export.

The rules live in the database itself (roles, grants, row filters inside the views), because
analysts connect their BI tools straight to PostgreSQL and no application layer sits between.
"""
