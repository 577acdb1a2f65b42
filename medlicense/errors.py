"""One exception tree for the whole pipeline.

Every error carries a stable machine ``code`` (dotted, lower-case) that operators,
receipts, JSON output and downstream systems can rely on; the human message may
change between releases, the code may not.  Library errors (minio, pypdf,
pyHanko, WeasyPrint ...) are caught at the boundary of the module that calls the
library and re-raised as one of these, with the original chained as ``__cause__``.

The tree, by area::

    MedLicenseError
    ├── ConfigurationError              config.*
    ├── RulesError                      rules.*
    │   └── RulesDataError              rules.data_invalid
    ├── PackageError                    package.*      (the whole package is unusable)
    ├── DocumentError                   document.*     (one file in a package is unusable)
    ├── StorageError                    storage.*
    │   ├── StorageUnavailable          storage.unavailable
    │   ├── ObjectNotFound              storage.not_found
    │   ├── ObjectExists                storage.exists (a create-only write lost the race)
    │   └── IntegrityError              storage.integrity
    ├── RenderError                     render.*
    ├── SigningError                    signing.*
    │   ├── KeyLoadError                signing.key_load / signing.wrong_passphrase
    │   ├── CertificateError            signing.cert_expired / signing.cert_revoked / ...
    │   └── TimestampError              signing.tsa_unavailable / signing.tsa_invalid
    ├── VerificationError               verify.*
    └── OrchestrationError              orchestration.*
        └── ReviewNotStarted            orchestration.review_not_started
"""

from __future__ import annotations

from typing import Any, ClassVar


class MedLicenseError(Exception):
    """Base of every error the pipeline raises on purpose."""

    default_code: ClassVar[str] = "error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details: dict[str, Any] = details

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross process boundaries (the worker pool); the default pickling
        # rebuilds from args alone and would drop the code and the details.
        return (_restore, (type(self), self.args, dict(self.__dict__)))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            out["details"] = {k: str(v) for k, v in self.details.items()}
        return out


def _restore(
    cls: type[MedLicenseError], args: tuple[Any, ...], state: dict[str, Any]
) -> MedLicenseError:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class ConfigurationError(MedLicenseError):
    default_code = "config.invalid"


class RulesError(MedLicenseError):
    default_code = "rules.error"


class RulesDataError(RulesError):
    """An edition or table file is malformed; the message names the file and field."""

    default_code = "rules.data_invalid"


class PackageError(MedLicenseError):
    """The package as a whole cannot be read (empty, not an archive, unsafe archive)."""

    default_code = "package.unreadable"


class DocumentError(MedLicenseError):
    """One document inside a package cannot be read."""

    default_code = "document.unreadable"


class StorageError(MedLicenseError):
    default_code = "storage.error"


class StorageUnavailable(StorageError):
    default_code = "storage.unavailable"


class ObjectNotFound(StorageError):
    default_code = "storage.not_found"


class ObjectExists(StorageError):
    """A create-only write found the key already taken (another run got there first)."""

    default_code = "storage.exists"


class IntegrityError(StorageError):
    """Stored bytes do not match the SHA-256 recorded with them."""

    default_code = "storage.integrity"


class RenderError(MedLicenseError):
    default_code = "render.failed"


class SigningError(MedLicenseError):
    default_code = "signing.failed"


class KeyLoadError(SigningError):
    default_code = "signing.key_load"


class CertificateError(SigningError):
    default_code = "signing.certificate"


class TimestampError(SigningError):
    default_code = "signing.tsa_unavailable"


class VerificationError(MedLicenseError):
    default_code = "verify.failed"


class OrchestrationError(MedLicenseError):
    """The Prefect server refused or lost a request of the pipeline's flows."""

    default_code = "orchestration.failed"


class ReviewNotStarted(OrchestrationError):
    """The server did not create an application's review run; it stays queued for review."""

    default_code = "orchestration.review_not_started"
