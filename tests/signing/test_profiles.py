"""The document type -> signing profile table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from medlicense.errors import ConfigurationError
from medlicense.settings import get_settings
from signing import profiles
from signing.profiles import SigningProfile, load_profiles, profile_for


@pytest.mark.parametrize(
    ("document_type", "level"),
    [
        ("receipt", "B-T"),
        ("refusal", "B-T"),
        ("license", "B-LTA"),
        ("appendix", "B-LTA"),
        ("reissued", "B-LTA"),
        ("duplicate", "B-LTA"),
    ],
)
def test_builtin_levels(document_type: str, level: str) -> None:
    profile = profile_for(document_type)
    assert profile.level == level
    assert profile.stamp
    assert profile.reason == f"{profile.reason_kk} / {profile.reason_ru}"


def test_profile_is_frozen() -> None:
    with pytest.raises(ValueError):
        profile_for("receipt").level = "B-B"  # type: ignore[misc]


def test_unknown_document_type() -> None:
    with pytest.raises(ConfigurationError) as info:
        profile_for("certificate-of-honour")
    assert info.value.code == "config.signing_profile_unknown"


@pytest.fixture
def override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "profiles.yaml"
    monkeypatch.setenv("MEDLICENSE_SIGNING_PROFILES_FILE", str(path))
    get_settings.cache_clear()
    profiles._cached.cache_clear()
    yield path
    get_settings.cache_clear()
    profiles._cached.cache_clear()


def test_settings_override_the_table(override: Path) -> None:
    override.write_text(
        "receipt:\n  level: B-LTA\n  stamp: false\n  reason_kk: Қолхат\n  reason_ru: Расписка\n",
        "utf-8",
    )
    assert profile_for("receipt") == SigningProfile(
        level="B-LTA", stamp=False, reason_kk="Қолхат", reason_ru="Расписка"
    )
    with pytest.raises(ConfigurationError):
        profile_for("license")  # an override replaces the whole table


@pytest.mark.parametrize(
    "text",
    [
        "receipt: [unclosed",
        "receipt:\n  level: B-X\n  reason_kk: a\n  reason_ru: b\n",
        "receipt:\n  level: B-T\n  reason_kk: a\n  reason_ru: b\n  colour: red\n",
    ],
)
def test_malformed_table(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigurationError) as info:
        load_profiles(path)
    assert info.value.code == "config.signing_profiles"
