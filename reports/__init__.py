"""Daily manager report: snapshots of the marts stored in PostgreSQL and rendered to HTML, CSV and PNG."""
