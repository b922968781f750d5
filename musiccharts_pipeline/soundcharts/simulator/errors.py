"""The error the simulator's routes and faults raise, answered in SoundCharts' error envelope."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, message: str, key: str = "access", headers=None):
        super().__init__(message)
        self.status, self.message, self.key = status, message, key
        self.headers = headers or {}

    def body(self) -> dict:
        return {"errors": [{"key": self.key, "code": self.status, "message": self.message}]}


REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
