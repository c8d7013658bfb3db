"""The one error shape of the HTTP API: `{"error": {"code": slug, "message": text}}`."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from .logsafe import describe


class ApiError(Exception):
    """An error the client caused or can act on; `status` is the HTTP status to answer."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message}}), status


_SLUGS = {
    400: "malformed",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "too-large",
    415: "unsupported-media-type",
    421: "misdirected",
    422: "invalid-field",
    429: "rate-limited",
    503: "upstream-unavailable",
}


def init_app(app: Flask) -> None:
    """Every error, including Flask's own (404, 405, 413), answers in the JSON shape."""

    @app.errorhandler(ApiError)
    def _api_error(e: ApiError) -> Any:
        response, status = error_response(e.status, e.code, e.message)
        response.headers.update(e.headers)
        if status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response, status

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException) -> Any:
        status = e.code or 500
        message = e.description or e.name
        if status == 413:
            message = "request body too large (at most 2 MB)"
        return error_response(status, _SLUGS.get(status, "error"), message)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception) -> Any:
        app.logger.error("unexpected error: %s", describe(e))  # no message: it may hold data
        return error_response(500, "internal", "internal error; the request was not processed")
