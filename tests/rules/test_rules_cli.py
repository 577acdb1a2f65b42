from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import pytest

from medlicense import cli
from medlicense.errors import MedLicenseError
from medlicense.rules.cli import register


def main(argv: Sequence[str]) -> int:
    """Only this package's subcommands, with the exit codes of ``medlicense.cli``."""
    parser = argparse.ArgumentParser(prog="medlicense")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        rc: int = args.func(args)
    except MedLicenseError as exc:
        print(f"medlicense: error: {exc}", file=sys.stderr)
        return cli.EXIT_ERROR
    return rc


def test_registered_in_the_medlicense_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["id", "check", "900101300017"]) == 0
    assert "valid IIN" in capsys.readouterr().out


def test_id_check_all_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["id", "check", "900101300017", "940140000385"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "valid IIN" in out[0] and "1990-01-01" in out[0] and "male" in out[0]
    assert "valid BIN" in out[1] and "1994-01" in out[1]


def test_id_check_reports_why(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["id", "check", "900101300017", "900101300018", "12ab"]) == 1
    out = capsys.readouterr().out
    assert "id.checksum" in out and "id.not_digits" in out


def test_id_check_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["id", "check", "--json", "010229500674"]) == 1
    row = json.loads(capsys.readouterr().out)
    assert row["valid"] is False and row["code"] == "iin.birth_date" and row["kind"] == "iin"


@pytest.mark.parametrize("edition", ["standard-2015", "rules-2020", "rules-2025"])
def test_rules_show(edition: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "show", "--edition", edition]) == 0
    out = capsys.readouterr().out
    assert edition in out
    for word in ("Fees", "Time limits", "Documents: issue", "Documents: duplicate", "fee_payment"):
        assert word in out
    if edition == "standard-2015":
        assert "provider.register" in out and "15" in out
    else:
        assert "unknown" in out


def test_rules_show_kind_and_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "show", "--kind", "reissue", "--date", "2016-06-01"]) == 0
    out = capsys.readouterr().out
    assert "standard-2015" in out and "Documents: reissue" in out
    assert "Documents: issue" not in out and "change_evidence" in out


def test_rules_show_unknown_edition(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "show", "--edition", "nope"]) == 2
    assert "rules.no_edition" in capsys.readouterr().err


def test_rules_validate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "validate"]) == 0
    assert "ok  rules-2025" in capsys.readouterr().out
