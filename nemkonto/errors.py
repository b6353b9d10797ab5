"""Application errors: services raise these, the API renders them as problem details and the
portal as form errors or messages (ARCHITECTURE.md section 2)."""

from django.utils.functional import Promise


class ApplicationError(Exception):
    """A refusal that the caller can act on. ``status`` is the HTTP status the API answers with."""

    status = 400
    title = "Bad request"

    def __init__(
        self,
        message: str | Promise,
        *,
        field: str | None = None,
        code: str = "invalid",
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(code)
        self.message = message
        self.field = field
        self.code = code
        self.extra_errors = errors or []

    def __str__(self) -> str:
        return str(self.message)

    def field_errors(self) -> list[dict[str, str]]:
        """The ``errors`` list of the problem document."""
        if self.field is None:
            return self.extra_errors
        own = {"field": self.field, "code": self.code, "message": str(self.message)}
        return [own, *self.extra_errors]


class ValidationFailed(ApplicationError):
    status = 422
    title = "Validation failed"


class PermissionDenied(ApplicationError):
    status = 403
    title = "Forbidden"


class NotFound(ApplicationError):
    """Missing and not permitted look the same to the caller (ARCHITECTURE.md section 2)."""

    status = 404
    title = "Not found"


class Conflict(ApplicationError):
    status = 409
    title = "Conflict"


class TooManyRequests(ApplicationError):
    """The caller used up an allowance; ``retry_after`` seconds until it may try again."""

    status = 429
    title = "Too many requests"

    def __init__(
        self, message: str | Promise, *, retry_after: int, code: str = "throttled"
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
