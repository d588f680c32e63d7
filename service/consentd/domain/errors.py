"""The domain's exception tree. The API layer maps each class to one gRPC status in one table."""


class ConsentError(Exception):
    """Base of every error a caller can act on. `message` is safe to show to the caller; `code`,
    when set, is a stable machine-readable name of the case (the ErrorInfo reason a caller can
    branch on, e.g. PURPOSE_NOT_FOUND); unset, the reason is the status's name."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class InvalidInput(ConsentError):
    """The request is malformed; `field` names the offending field (dotted path)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class NotFound(ConsentError):
    """A named thing does not exist in the caller's tenant."""


class AlreadyExists(ConsentError):
    """The thing to create exists already."""


class FailedPrecondition(ConsentError):
    """The request is well-formed but the current state forbids it."""


class Unauthenticated(ConsentError):
    """No valid credentials. Always the same message, whatever was wrong."""

    def __init__(self) -> None:
        super().__init__("missing or invalid credentials")


class PermissionDenied(ConsentError):
    """The caller is known but may not do this; `tenant`, the caller's tenant's slug when known
    (for the operator's log line)."""

    tenant = ""


class ResourceExhausted(ConsentError):
    """The caller asks for more than the service will hold for it: too many calls for this tenant
    right now (retry after `retry_after` seconds), too much at once, or answers left unread."""

    def __init__(
        self,
        retry_after: float | None = None,
        message: str = "rate limit exceeded for this tenant; retry later",
    ) -> None:
        super().__init__(message, code="RATE_LIMITED" if retry_after is not None else "")
        self.retry_after = retry_after
