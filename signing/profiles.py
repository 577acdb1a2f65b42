"""Which PAdES level, stamp and reason each outgoing document type is signed with.

The table is data (``profiles.yaml`` next to this module, or the file named by
``Settings.signing_profiles_file``), so adding a document type or raising a
level is a reviewed data change, not a code change.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medlicense.errors import ConfigurationError
from medlicense.settings import get_settings

SignatureLevel = Literal["B-B", "B-T", "B-LTA"]
SIGNATURE_LEVELS: tuple[SignatureLevel, ...] = ("B-B", "B-T", "B-LTA")

BUILTIN_PROFILES = Path(__file__).resolve().parent / "profiles.yaml"


class SigningProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    level: SignatureLevel
    stamp: bool = True
    reason_kk: str = Field(min_length=1)
    reason_ru: str = Field(min_length=1)
    field_name: str = Field("Signature1", pattern=r"^[A-Za-z][A-Za-z0-9_]*$")

    @property
    def reason(self) -> str:
        """The bilingual /Reason: the state language first, as on the documents."""
        return f"{self.reason_kk} / {self.reason_ru}"


class ProfileTable(BaseModel):
    model_config = ConfigDict(frozen=True)

    profiles: dict[str, SigningProfile]

    def profile_for(self, document_type: str) -> SigningProfile:
        try:
            return self.profiles[document_type]
        except KeyError:
            known = ", ".join(sorted(self.profiles))
            raise ConfigurationError(
                f"no signing profile for document type {document_type!r} (known: {known})",
                code="config.signing_profile_unknown",
                document_type=document_type,
            ) from None


def load_profiles(path: Path = BUILTIN_PROFILES) -> ProfileTable:
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(
            f"cannot read signing profiles {path}: {exc}", code="config.signing_profiles", path=path
        ) from exc
    try:
        return ProfileTable.model_validate({"profiles": raw})
    except ValidationError as exc:
        raise ConfigurationError(
            f"invalid signing profiles in {path}: {exc}", code="config.signing_profiles", path=path
        ) from exc


@lru_cache(maxsize=4)
def _cached(path: Path) -> ProfileTable:
    return load_profiles(path)


def configured_profiles() -> ProfileTable:
    """The table in force: the settings' override file, else the built-in one."""
    override = get_settings().signing_profiles_file
    return _cached(override or BUILTIN_PROFILES)


def profile_for(document_type: str) -> SigningProfile:
    """Signing profile of ``document_type`` (``receipt``, ``license``, ``appendix`` ...)."""
    return configured_profiles().profile_for(document_type)
