"""The demo page with the chat widget, and the widget's static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

STATIC = Path(__file__).resolve().parent.parent / "static"
FILES = {
    "widget.js": "text/javascript",
    "widget.css": "text/css",
    "staff.js": "text/javascript",
    "staff.css": "text/css",
    "widget_report.js": "text/javascript",  # 通報: the widget's photo and location buttons
    "widget_report.css": "text/css",
    "reports.js": "text/javascript",  # 通報: the staff console's page
    "broadcasts.js": "text/javascript",  # 一斉のお知らせ: the staff console's page
}


def router() -> APIRouter:
    api = APIRouter()

    @api.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    @api.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)  # no icon of our own; spares browsers a 404 per page

    @api.get("/staff", include_in_schema=False)
    async def staff_console() -> FileResponse:
        return FileResponse(STATIC / "staff.html", media_type="text/html; charset=utf-8")

    @api.get("/staff/reports", include_in_schema=False)
    async def staff_reports() -> FileResponse:
        return FileResponse(STATIC / "reports.html", media_type="text/html; charset=utf-8")

    @api.get("/staff/broadcasts", include_in_schema=False)
    async def staff_broadcasts() -> FileResponse:
        return FileResponse(STATIC / "broadcasts.html", media_type="text/html; charset=utf-8")

    @api.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> FileResponse:
        if name not in FILES:
            raise HTTPException(404, "not found")
        return FileResponse(STATIC / name, media_type=FILES[name] + "; charset=utf-8")

    return api
