"""Attendance as CSV (PROTOCOL §5): the exact header, times as ISO 8601 UTC. Pure."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

__all__ = ["CSV_HEADER", "attendance_csv_text", "csv_cell", "iso_utc"]

CSV_HEADER = ["username", "display_name", "role", "first_joined", "last_left", "seconds_present"]


def iso_utc(ms: object) -> str:
    """A time in ms as ISO 8601 UTC (`2026-11-30T18:00:05Z`); empty for none."""
    if not isinstance(ms, int):
        return ""
    moment = datetime.fromtimestamp(ms / 1000, UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def csv_cell(text: str) -> str:
    """A user-chosen text made safe for spreadsheets: no cell starts a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def attendance_csv_text(attendance: list[dict[str, Any]]) -> str:
    """The CSV download of a session's `attendance` objects."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in attendance:
        user = row["user"]
        writer.writerow(
            [
                csv_cell(str(user["username"])),
                csv_cell(str(user["display_name"])),
                row["role"],
                iso_utc(row["first_joined"]),
                iso_utc(row["last_left"]),
                row["seconds_present"],
            ]
        )
    return out.getvalue()
