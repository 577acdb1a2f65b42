"""Drawing many package specs from a :class:`Mix` and writing them to disk."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from medlicense.models import ApplicantType, Language, RequestKind
from medlicense.samples.packages import (
    SCANNABLE,
    DocumentFault,
    FindingFault,
    PackageFault,
    PackageSpec,
    PackageTruth,
    Scenario,
    Truth,
    render_package,
    required_documents,
)

SCENARIOS: tuple[Scenario, ...] = (
    "complete_issue",
    "incomplete",
    "reissue",
    "duplicate",
    "bad_input",
)

# Bad inputs cycle through these so even a small run contains each of them.
# ``(package fault, document fault, whole package unreadable?)``
BAD_INPUTS: tuple[tuple[PackageFault | None, DocumentFault | None, bool], ...] = (
    (None, "document.encrypted", True),
    ("package.empty", None, True),
    (None, "document.truncated", True),
    ("package.nested_archive", None, True),
    (None, "document.not_pdf", True),
    (None, "document.encrypted", False),
    (None, "document.truncated", False),
    (None, "document.not_pdf", False),
)
FINDING_FAULTS: tuple[FindingFault, ...] = (
    "fee.underpaid",
    "fee.paid_by_other",
    "id.checksum",
    "request.mismatch",
)


class Mix(BaseModel):
    """Shares of package scenarios and of the variations applied to them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    complete_issue: float = Field(0.60, ge=0)
    incomplete: float = Field(0.15, ge=0)
    reissue: float = Field(0.10, ge=0)
    duplicate: float = Field(0.05, ge=0)
    bad_input: float = Field(0.10, ge=0)
    # Variations, each a probability per (non-bad) package.
    legal_entity: float = Field(0.6, ge=0, le=1)
    kazakh: float = Field(0.6, ge=0, le=1)
    representative: float = Field(0.2, ge=0, le=1)
    gateway: float = Field(0.25, ge=0, le=1)
    findings: float = Field(0.2, ge=0, le=1)  # complete packages with one finding fault
    scanned: float = Field(0.12, ge=0, le=1)
    merged: float = Field(0.2, ge=0, le=1)
    request_json: float = Field(0.85, ge=0, le=1)
    other_language: float = Field(0.12, ge=0, le=1)  # per supporting document

    @model_validator(mode="after")
    def _some_weight(self) -> Mix:
        if sum(self.weights()) <= 0:
            raise ValueError("at least one scenario needs a positive share")
        return self

    def weights(self) -> tuple[float, ...]:
        return (self.complete_issue, self.incomplete, self.reissue, self.duplicate, self.bad_input)


def allocate(count: int, weights: Sequence[float]) -> list[int]:
    """Split ``count`` by ``weights`` with the largest-remainder method (exact totals)."""
    total = sum(weights)
    exact = [count * w / total for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[: count - sum(counts)]:
        counts[i] += 1
    return counts


def _with(spec: PackageSpec, **changes: object) -> PackageSpec:
    """A validated copy of ``spec`` (``model_copy`` would skip validation)."""
    return PackageSpec.model_validate({**dict(spec), **changes})


def _variations(
    rng: random.Random, mix: Mix, kind: RequestKind, scenario: Scenario, *, findings: bool
) -> PackageSpec:
    seed = rng.getrandbits(32)
    entity = rng.random() < mix.legal_entity
    language: Language = "kk" if rng.random() < mix.kazakh else "ru"
    representative = rng.random() < mix.representative
    fault: FindingFault | None = rng.choice(FINDING_FAULTS) if findings else None
    request_json = rng.random() < mix.request_json or fault == "request.mismatch"
    gateway = (
        request_json
        and rng.random() < mix.gateway
        and fault not in ("fee.underpaid", "fee.paid_by_other")
    )
    # Some portal users attach the gateway's print-out although nobody asks for it.
    gateway_print = gateway and rng.random() < 0.3
    present = required_documents(kind, representative=representative, gateway=gateway)
    scannable = [c for c in present if c in SCANNABLE]
    scanned: frozenset[str] = frozenset()
    if scannable and rng.random() < mix.scanned:
        scanned = frozenset({rng.choice(scannable)})
    merge: tuple[tuple[str, ...], ...] = ()
    if len(present) >= 3 and rng.random() < mix.merged:
        k = rng.randrange(2, min(4, len(present)) + 1)
        merge = (tuple(rng.sample(list(present), k)),)
    other = frozenset(c for c in present if c in SCANNABLE and rng.random() < mix.other_language)
    return PackageSpec(
        kind=kind,
        applicant_type=ApplicantType.LEGAL_ENTITY if entity else ApplicantType.INDIVIDUAL,
        language=language,
        seed=seed,
        representative=representative,
        gateway=gateway,
        gateway_print=gateway_print,
        request_json=request_json,
        findings=frozenset({fault}) if fault else frozenset(),
        scanned=scanned,
        merge=merge,
        other_language=other,
        scenario=scenario,
    )


def draw_spec(scenario: Scenario, rng: random.Random, mix: Mix, bad_index: int = 0) -> PackageSpec:
    """One random spec for a scenario; ``bad_index`` picks the bad-input variant."""
    if scenario == "complete_issue":
        return _variations(
            rng, mix, RequestKind.ISSUE, scenario, findings=rng.random() < mix.findings
        )
    if scenario in ("reissue", "duplicate"):
        kind = RequestKind.REISSUE if scenario == "reissue" else RequestKind.DUPLICATE
        return _variations(rng, mix, kind, scenario, findings=rng.random() < mix.findings)
    if scenario == "incomplete":
        kind = rng.choices(list(RequestKind), weights=(0.7, 0.2, 0.1))[0]
        spec = _variations(rng, mix, kind, scenario, findings=False)
        # Leaving out the application is rarer, and then request.json must say
        # what the package is for.
        # Whether the rules require change_evidence depends on the re-issue ground,
        # drawn later (make_case); leaving it out alone might not make the package
        # incomplete, so it is never the document an incomplete package relies on.
        omissible = [c for c in spec.required() if c not in ("application", "change_evidence")]
        if not omissible:
            # A duplicate (or re-issue) paid through the gateway has nothing else
            # to leave out; let it pay by receipt.
            spec = _with(spec, gateway=False, gateway_print=False)
        candidates = [c for c in spec.required() if c not in ("application", "change_evidence")]
        request_json = spec.request_json
        if rng.random() < 0.12:
            candidates.append("application")
            request_json = True
        # At least one document stays: a package without PDFs is "empty", not incomplete.
        most = min(3, len(candidates), len(spec.required()) - 1)
        omit = frozenset(rng.sample(candidates, rng.randrange(1, most + 1)))
        return _with(spec, omit=omit, scanned=spec.scanned - omit, request_json=request_json)
    package_fault, doc_fault, whole = BAD_INPUTS[bad_index % len(BAD_INPUTS)]
    spec = _variations(rng, mix, RequestKind.ISSUE, scenario, findings=False)
    spec = _with(spec, scanned=frozenset(), merge=(), package_fault=package_fault)
    if doc_fault is None:
        return spec
    if whole:
        # The upload is a single broken application and nothing else.
        return _with(
            spec,
            omit=frozenset(spec.required()) - {"application"},
            unreadable={"application": doc_fault},
        )
    # One broken file among readable ones: its document counts as missing.
    return _with(spec, request_json=True, unreadable={rng.choice(spec.required()): doc_fault})


def plan_packages(count: int, seed: int, *, mix: Mix | None = None) -> list[PackageSpec]:
    """The specs :func:`generate_packages` would build, without drawing anything.

    Scenario counts are allocated exactly (largest remainder) and then shuffled,
    so even a small run has the mix's proportions.
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    mix = mix or Mix()
    rng = random.Random(seed)
    scenarios: list[Scenario] = [
        s for s, n in zip(SCENARIOS, allocate(count, mix.weights()), strict=True) for _ in range(n)
    ]
    rng.shuffle(scenarios)
    bad_index = rng.randrange(len(BAD_INPUTS))
    specs: list[PackageSpec] = []
    for scenario in scenarios:
        specs.append(draw_spec(scenario, rng, mix, bad_index))
        if scenario == "bad_input":
            bad_index += 1
    return specs


def package_name(index: int, count: int) -> str:
    """``pkg-0001.zip`` for the first package (wider numbers past 9999)."""
    return f"pkg-{index:0{max(4, len(str(count)))}d}.zip"


def generate_packages(out_dir: Path, count: int, seed: int, *, mix: Mix | None = None) -> Truth:
    """Write ``count`` packages ``pkg-0001.zip`` ... and ``truth.json`` into ``out_dir``.

    The same ``seed`` (and mix) gives byte-identical files on every run.
    """
    specs = plan_packages(count, seed, mix=mix)
    out_dir.mkdir(parents=True, exist_ok=True)
    truths: dict[str, PackageTruth] = {}
    for i, spec in enumerate(specs, start=1):
        built = render_package(spec)
        name = package_name(i, count)
        (out_dir / name).write_bytes(built.data)
        truths[name] = built.truth
    truth = Truth(truths)
    (out_dir / "truth.json").write_text(truth.dump(), encoding="utf-8")
    return truth
