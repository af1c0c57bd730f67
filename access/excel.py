"""The Excel variant of the CSV export: files a spreadsheet opens right on a double click.

Russian Excel reads a CSV by the system's list separator and decimal mark (`;` and `,`) and takes a
file without a byte-order mark for the ANSI code page, so the plain export (UTF-8, `,`, dot
decimals, `t`/`f`, timestamps in UTC) comes out garbled. This variant, per REPORT_LANG: UTF-8 with
a BOM, `;` and a decimal comma (`,` and a dot in English), «да/нет» (yes/no), money rounded to
kopecks, seconds to whole seconds, shares and means to 4 decimals, times in BUSINESS_TIMEZONE
(the zone in the column's header) and dates as Excel writes them. Everything is done by the
export's own SELECT, so it still streams with COPY.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

BOM = b"\xef\xbb\xbf"
INTEGER_TYPES = ("smallint", "integer", "bigint")
DECIMAL_TYPES = ("numeric", "double precision", "real")


@dataclass(frozen=True)
class ExcelFormat:
    lang: str
    timezone: str
    separator: str
    decimal: str
    yes: str
    no: str
    date_pattern: str  # to_char patterns
    time_pattern: str


def excel_format(lang: str, timezone: str) -> ExcelFormat:
    """The format Excel expects in `lang`'s locale, times shown in `timezone`."""
    if lang == "ru":
        return ExcelFormat(lang, timezone, ";", ",", "да", "нет", "DD.MM.YYYY", "DD.MM.YYYY HH24:MI:SS")
    return ExcelFormat(lang, timezone, ",", ".", "yes", "no", "YYYY-MM-DD", "YYYY-MM-DD HH24:MI:SS")


def _decimal(expression: sql.Composable, places: int, fmt: ExcelFormat) -> sql.Composable:
    rounded = sql.SQL("round(({})::numeric, {})::text").format(expression, sql.Literal(places))
    if fmt.decimal == ".":
        return rounded
    return sql.SQL("replace({}, '.', {})").format(rounded, sql.Literal(fmt.decimal))


def column(name: str, data_type: str, fmt: ExcelFormat) -> sql.Composable:
    """The SELECT item for one column of a reporting view, aliased to its header."""
    ident = sql.Identifier(name)
    header = name
    if data_type == "boolean":
        value = sql.SQL("case when {c} then {yes} when not {c} then {no} end").format(
            c=ident, yes=sql.Literal(fmt.yes), no=sql.Literal(fmt.no))
    elif data_type == "timestamp with time zone":
        value = sql.SQL("to_char({} at time zone {}, {})").format(ident, sql.Literal(fmt.timezone),
                                                                  sql.Literal(fmt.time_pattern))
        header = f"{name} ({fmt.timezone})"
    elif data_type == "date":
        value = sql.SQL("to_char({}, {})").format(ident, sql.Literal(fmt.date_pattern))
    elif data_type in DECIMAL_TYPES and name.endswith("_seconds"):
        value = sql.SQL("round(({})::numeric)::bigint").format(ident)
    elif data_type in DECIMAL_TYPES:
        value = _decimal(ident, 2 if name.endswith("_amount") else 4, fmt)
    else:  # integers and text as they are
        value = ident
    return sql.SQL("{} as {}").format(value, sql.Identifier(header))


def copy_options(fmt: ExcelFormat) -> sql.Composable:
    return sql.SQL("format csv, header true, delimiter {}, encoding 'UTF8'").format(sql.Literal(fmt.separator))
