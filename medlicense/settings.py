"""All configuration in one object, read from ``MEDLICENSE_*`` environment variables.

Defaults describe a single developer machine: SeaweedFS on 127.0.0.1, a
development PKI and Prefect home under ``./var``.  Production overrides them
through the environment (or a ``.env`` file); nothing else reads ``os.environ``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "MEDLICENSE_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    # --- local state -----------------------------------------------------------
    data_dir: Path = Field(Path("var"), description="Root of local state (S3 data, PKI, Prefect).")

    # --- object storage ----------------------------------------------------------
    s3_endpoint: str = Field("127.0.0.1:8333", description="host:port of the S3 API.")
    s3_access_key: str = "medlicense"
    s3_secret_key: SecretStr = SecretStr("medlicense-dev-secret")
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    bucket_uploads: str = "uploads"
    bucket_artifacts: str = "artifacts"
    bucket_quarantine: str = "quarantine"
    # Signed licenses, their manifests and the event log, for downstream systems:
    # versioned, object lock on, every signed document under COMPLIANCE retention.
    bucket_published: str = "published"
    published_retention_days: int = Field(3650, ge=1)
    # Read-only identity for downstream systems: list and get the published bucket only.
    downstream_access_key: str = "downstream"
    downstream_secret_key: SecretStr = SecretStr("downstream-dev-secret")
    # The only identity that writes the published bucket (create-only documents and
    # events, compare-and-swap manifests); the pipeline's own identity only reads it.
    publisher_access_key: str = "publisher"
    publisher_secret_key: SecretStr = SecretStr("publisher-dev-secret")
    # Validity of the links `medlicense fetch` prints (SigV4 allows at most 7 days).
    presign_seconds: int = Field(3600, ge=1, le=7 * 24 * 3600)
    # Prefix under which portal packages are read from the uploads bucket.
    uploads_prefix: str = "incoming/"

    # --- local SeaweedFS (weed mini) ----------------------------------------------
    weed_ip: str = "127.0.0.1"
    weed_s3_port: int = 8333
    weed_master_port: int = 9333
    weed_volume_port: int = 8088
    weed_filer_port: int = 8888
    weed_webdav_port: int = 7333
    weed_admin_port: int = 23646
    weed_start_timeout: float = 60.0
    # Not lower.  ~210 MiB of what Go counts as live heap are buffers SeaweedFS allocates
    # at start (the filer store's eight leveldb memtables, two metadata log buffers) and
    # that become resident only as they fill: the live heap is ~240 MiB from the start
    # and peaks near 300 MiB with tens of thousands of objects.  A limit below that
    # makes the collector run back to back for little less RSS.  Put + get, half PDFs
    # of 50-200 KB, half small JSON: at 6,000 objects 256 took 2.5 ms of CPU per
    # request against 1.1 at 320 (peak RSS 190 against 208 MiB); 288 was as cheap as
    # 320 at 6,000 objects but took twice the CPU at 16,000; at 32,000, 320 itself took
    # ~12 % more CPU than 384.  GOGC changes nothing while the limit is what binds.
    weed_memory_limit_mib: int = Field(
        320, ge=0, description="Soft memory limit of the local S3 server (GOMEMLIMIT); 0: none."
    )
    weed_release_start_up_pages: bool = Field(
        True,
        description="After starting the local S3 server, let the kernel reclaim the pages of "
        "its executable that only its start-up used (needs CAP_SYS_NICE).",
    )

    # --- signing -------------------------------------------------------------------
    pki_dir: Path | None = Field(None, description="Development PKI; default <data_dir>/pki.")
    signer_pkcs12: Path | None = Field(
        None, description="Signer key; default <pki_dir>/signer.p12."
    )
    signer_passphrase: SecretStr = SecretStr("medlicense-dev")
    tsa_url: str | None = Field(
        None, description="RFC 3161 TSA. Empty: a local development TSA is started on 127.0.0.1."
    )
    trust_roots: list[Path] = Field(
        default_factory=list, description="Extra trusted root certificates (PEM or DER)."
    )
    # Local OCSP responder, CRL and TSA of the development PKI (signing.services);
    # the URL is written into the dev certificates, so changing it needs `pki init --force`.
    pki_services_host: str = "127.0.0.1"
    pki_services_port: int = 8790
    signing_profiles_file: Path | None = Field(
        None, description="YAML table document type -> signing profile (overrides the built-in)."
    )
    revocation_cache_seconds: float = Field(
        300.0,
        ge=0,
        description="Reuse OCSP/CRL answers and the signer chain verdict across signatures, "
        "and a valid verification report of the very same bytes, for this long (a revocation "
        "is noticed at most this late); 0: ask and verify every time.",
    )

    # --- provider -------------------------------------------------------------------
    provider_name_kk: str = "Батыс Қазақстан облысының денсаулық сақтау басқармасы"
    provider_name_ru: str = "Управление здравоохранения Западно-Казахстанской области"
    provider_bin: str = "990240001227"
    provider_address_kk: str = "Орал қ., Достық-Дружба даңғылы, 201"
    provider_address_ru: str = "г. Уральск, проспект Достык-Дружба, 201"
    clerk_name: str = "Кеңсе қызметкері"
    # Printed as a QR code on every outgoing document; the ".invalid" default is a
    # deliberate placeholder until the provider publishes its verification page.
    public_verify_url: str = "https://verify.medlicense.invalid/d"
    timezone: str = "Asia/Oral"

    # --- rules ----------------------------------------------------------------------
    rules_dir: Path | None = Field(None, description="Directory of edited rule files (override).")

    # --- Prefect ----------------------------------------------------------------------
    prefect_api_url: str | None = Field(
        None,
        description="Prefect API of a running server; empty: the local server on prefect_port.",
    )
    prefect_port: int = 4200
    prefect_database_url: SecretStr | None = Field(
        None,
        description="Database of the local Prefect server; empty: SQLite under data_dir. "
        "Production: postgresql+asyncpg://user@host:5432/prefect",
    )
    review_starts_at_once: int = Field(
        0,
        ge=0,
        description="Review forms an intake batch stores at a time (the runs are created a "
        "group per request); 0: four when the Prefect server's database is PostgreSQL, else "
        "one (SQLite answers concurrent writes with 'database is locked' and the client "
        "backs off for seconds).",
    )
    # --- operator workflow (flows/review.py, flows/deploy.py) ---------------------------
    review_policy: Literal["manual", "auto"] = Field(
        "manual",
        description="manual: every accepted application waits for the executor's form; "
        "auto (demo, benchmarks): approve when the automated checks found nothing.",
    )
    workers: int = Field(
        0,
        ge=0,
        description="Warm worker processes that read, render and sign; 0: one per core.",
    )
    # 16 rather than 8: half the task runs (their events, state records and threads)
    # for the same batch; progress still moves every few seconds of a batch.
    intake_group_size: int = Field(
        16,
        ge=1,
        description="Packages per task run of an intake batch: each task run costs the "
        "Prefect server and the serving process; a package's failure stays its own.",
    )
    # A worker's memory creeps up with the jobs it has done (allocator fragmentation in
    # the native libraries, ~3 MiB per 100 packages after the first few); a fresh one
    # costs ~1.3 s of one core to build its context, against ~66 core-seconds for 200
    # packages: 200 keeps a worker within ~6 MiB of its early size for ~2 % of its time.
    worker_max_tasks: int = Field(
        200,
        ge=0,
        description="Replace a worker after this many jobs (bounds slow leaks and "
        "fragmentation); 0: never.",
    )
    intake_cron: str = Field("*/15 * * * *", description="Schedule of the intake deployment.")
    report_cron: str = Field("0 8 * * 1-5", description="Schedule of the daily report.")
    # A claim older than this is taken to belong to a crashed run and is taken over;
    # every write after the claim is idempotent, so a takeover cannot duplicate.
    claim_stale_seconds: int = Field(1800, ge=0)
    head_confirmation: bool = Field(
        False, description="Item 6 step 4: the head confirms an unsigned draft before signing."
    )
    head_name: str = "Басшы"
    executor_name: str = "Жауапты орындаушы"
    head_pkcs12: Path | None = Field(
        None, description="The head's signing key; default: the provider's signer key."
    )
    head_passphrase: SecretStr | None = Field(
        None, description="Passphrase of head_pkcs12; default: signer_passphrase."
    )
    # {yy}: two-digit year, {year}: four digits, {seq}: the number within the year.
    license_number_format: str = "KZ{yy:02d}-{seq:04d}"
    deployment_prefix: str = Field(
        "medlicense", description="Deployments are named <flow>/<prefix>-<flow>."
    )

    @property
    def resolved_pki_dir(self) -> Path:
        return self.pki_dir or self.data_dir / "pki"

    @property
    def resolved_signer_pkcs12(self) -> Path:
        return self.signer_pkcs12 or self.resolved_pki_dir / "signer.p12"

    @property
    def resolved_head_pkcs12(self) -> Path:
        return self.head_pkcs12 or self.resolved_signer_pkcs12

    @property
    def resolved_head_passphrase(self) -> SecretStr:
        return self.head_passphrase or self.signer_passphrase

    def license_number(self, year: int, seq: int) -> str:
        return self.license_number_format.format(year=year, yy=year % 100, seq=seq)

    @property
    def weed_dir(self) -> Path:
        return self.data_dir / "seaweedfs"

    @property
    def prefect_home(self) -> Path:
        return self.data_dir / "prefect"

    @property
    def resolved_review_starts_at_once(self) -> int:
        if self.review_starts_at_once:
            return self.review_starts_at_once
        url = self.prefect_database_url
        on_postgres = url is not None and url.get_secret_value().startswith("postgresql")
        return 4 if on_postgres else 1

    @property
    def resolved_prefect_api_url(self) -> str:
        return self.prefect_api_url or f"http://127.0.0.1:{self.prefect_port}/api"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
