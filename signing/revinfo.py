"""OCSP responses and CRLs fetched while signing, reused for a short window.

Without reuse every signature asks the responder the same questions again:
about the signer certificate twice (the check before signing and pyHanko's own
pre-sign validation) and about the TSA certificate once, each answer a fresh
RSA signature by the responder plus a round trip.  Signing services keep such
answers for a while instead; this module does the same for one
:class:`signing.signer.PdfSigner`.

Why reusing an answer is safe:

* An OCSP response or CRL is a signed statement valid for a stated period
  (thisUpdate to nextUpdate).  A reused answer is validated by certvalidator
  exactly like a fresh one, against the moment of validation; the cache never
  makes a lapsed answer acceptable, and hands out none that lapses within
  :data:`MIN_REMAINING_VALIDITY`.  So the copy a B-LTA document embeds in its
  DSS is current at the document's signature timestamp, and the document still
  verifies offline from that data alone (``signing.verify``'s embedded check).
* Only positive OCSP answers ("good") are kept; a revoked or unknown status,
  an unsuccessful response or a failed fetch is never reused.  CRLs are kept
  whole (a CRL lists every revoked certificate, so reusing it cannot hide one
  listed in it).
* The window bounds how late a revocation is noticed: a signer certificate
  revoked at time T is refused from T + window at the latest (default
  :data:`DEFAULT_REVOCATION_CACHE_SECONDS`).  Responders that pre-produce
  responses (RFC 5019 §6 lets clients cache them until nextUpdate) and CAs
  publishing CRLs daily expose relying parties to far longer delays.
* A window of 0 disables reuse: every signature asks again, as without cache.
"""

from __future__ import annotations

import datetime as dt
import ssl
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias

import aiohttp
from asn1crypto import cms, crl, ocsp, x509
from pyhanko_certvalidator.authority import Authority
from pyhanko_certvalidator.fetchers import FetcherBackend, Fetchers
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.util import LazySession
from pyhanko_certvalidator.fetchers.api import CRLFetcher, OCSPFetcher
from pyhanko_certvalidator.util import issuer_serial

from signing import install_speedups

install_speedups()

__all__ = [
    "DEFAULT_REVOCATION_CACHE_SECONDS",
    "MIN_REMAINING_VALIDITY",
    "CachingFetcherBackend",
    "RevocationCache",
]

DEFAULT_REVOCATION_CACHE_SECONDS = 300.0
# Long enough to finish the signature, its timestamps and the DSS that embeds a
# reused answer: the answer must still be current at the signature timestamp.
MIN_REMAINING_VALIDITY = dt.timedelta(minutes=1)

Certificate: TypeAlias = x509.Certificate | cms.AttributeCertificateV2


@dataclass(frozen=True)
class _Entry:
    stored_at: float  # on the cache's monotonic clock
    valid_until: dt.datetime  # the earliest nextUpdate in the answer
    value: Any


class RevocationCache:
    """Answers by what they are about, each for at most ``ttl`` seconds.

    Also remembers when the signer's chain last validated, so the check before
    each signature can rely on the same window.  Not thread-safe, like the
    signer that owns it.  ``clock`` (seconds, monotonic) may be replaced, so
    tests can move past the window without waiting for it.
    """

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl < 0:
            raise ValueError(f"revocation cache window must be >= 0 seconds, not {ttl}")
        self.ttl = ttl
        self.clock = clock
        self._ocsp: dict[Hashable, _Entry] = {}
        self._crls: dict[Hashable, _Entry] = {}
        self._chain_ok_at: float | None = None

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def clear(self) -> None:
        self._ocsp.clear()
        self._crls.clear()
        self._chain_ok_at = None

    # -- the signer chain ------------------------------------------------------------

    def chain_recently_valid(self) -> bool:
        return self._chain_ok_at is not None and self._fresh(self._chain_ok_at)

    def chain_validated(self) -> None:
        if self.enabled:
            self._chain_ok_at = self.clock()

    # -- answers ---------------------------------------------------------------------

    def get_ocsp(self, key: Hashable) -> ocsp.OCSPResponse | None:
        return self._get(self._ocsp, key)

    def put_ocsp(self, key: Hashable, response: ocsp.OCSPResponse) -> None:
        until = _ocsp_good_until(response)
        if until is not None:
            self._put(self._ocsp, key, until, response)

    def get_crls(self, key: Hashable) -> list[crl.CertificateList] | None:
        crls: list[crl.CertificateList] | None = self._get(self._crls, key)
        return crls

    def put_crls(self, key: Hashable, crls: Iterable[crl.CertificateList]) -> None:
        kept = list(crls)
        untils = [_crl_valid_until(c) for c in kept]
        if kept and all(u is not None for u in untils):
            self._put(self._crls, key, min(u for u in untils if u is not None), kept)

    def _fresh(self, stored_at: float) -> bool:
        # A negative age means the clock was replaced: treat as stale, not as new.
        return 0 <= self.clock() - stored_at < self.ttl

    def _get(self, table: dict[Hashable, _Entry], key: Hashable) -> Any:
        entry = table.get(key)
        if entry is None:
            return None
        if self._fresh(entry.stored_at) and _lasts(entry.valid_until):
            return entry.value
        del table[key]
        return None

    def _put(
        self, table: dict[Hashable, _Entry], key: Hashable, until: dt.datetime, value: Any
    ) -> None:
        if self.enabled and _lasts(until):
            table[key] = _Entry(self.clock(), until, value)


def _lasts(until: dt.datetime) -> bool:
    return until - dt.datetime.now(dt.UTC) >= MIN_REMAINING_VALIDITY


def _ocsp_good_until(response: ocsp.OCSPResponse) -> dt.datetime | None:
    """The earliest nextUpdate of an all-"good" successful response, else None."""
    try:
        if response["response_status"].native != "successful":
            return None
        singles = response.basic_ocsp_response["tbs_response_data"]["responses"]
        until: dt.datetime | None = None
        for single in singles:
            next_update = single["next_update"].native
            if single["cert_status"].name != "good" or next_update is None:
                return None
            until = next_update if until is None else min(until, next_update)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # unparsable here: certvalidator will judge it; just don't keep it
    return until


def _crl_valid_until(certificate_list: crl.CertificateList) -> dt.datetime | None:
    try:
        next_update: dt.datetime | None = certificate_list["tbs_cert_list"]["next_update"].native
    except (ValueError, KeyError, TypeError):
        return None
    return next_update


# --- fetchers ------------------------------------------------------------------------


class _CachingOCSPFetcher(OCSPFetcher):
    """One validation context's OCSP fetcher, consulting the cache before the network."""

    def __init__(self, inner: OCSPFetcher, cache: RevocationCache) -> None:
        self._inner = inner
        self._cache = cache
        self._served: dict[tuple[Hashable, Hashable], ocsp.OCSPResponse] = {}

    async def fetch(self, cert: Certificate, authority: Authority) -> ocsp.OCSPResponse:
        key = (issuer_serial(cert), authority.hashable)
        response = self._served.get(key) or self._cache.get_ocsp(key)
        if response is None:
            response = await self._inner.fetch(cert, authority)
            self._cache.put_ocsp(key, response)
        self._served[key] = response
        return response

    def fetched_responses(self) -> Iterable[ocsp.OCSPResponse]:
        # What pyHanko embeds in a B-LTA DSS: reused answers count as fetched.
        return list(self._served.values())

    def fetched_responses_for_cert(self, cert: Certificate) -> Iterable[ocsp.OCSPResponse]:
        target = issuer_serial(cert)
        return [resp for (subject, _), resp in self._served.items() if subject == target]


class _CachingCRLFetcher(CRLFetcher):
    """One validation context's CRL fetcher, consulting the cache before the network."""

    def __init__(self, inner: CRLFetcher, cache: RevocationCache) -> None:
        self._inner = inner
        self._cache = cache
        self._served: dict[Hashable, list[crl.CertificateList]] = {}

    async def fetch(
        self, cert: Certificate, *, use_deltas: bool | None = True
    ) -> Iterable[crl.CertificateList]:
        subject = issuer_serial(cert)
        if subject in self._served:
            return self._served[subject]
        key = (subject, bool(use_deltas))
        crls = self._cache.get_crls(key)
        if crls is None:
            crls = list(await self._inner.fetch(cert, use_deltas=use_deltas))
            self._cache.put_crls(key, crls)
        self._served[subject] = crls
        return crls

    def fetched_crls(self) -> Iterable[crl.CertificateList]:
        unique: dict[bytes, crl.CertificateList] = {}
        for crls in self._served.values():
            for certificate_list in crls:
                unique.setdefault(certificate_list.dump(), certificate_list)
        return list(unique.values())

    def fetched_crls_for_cert(self, cert: Certificate) -> Iterable[crl.CertificateList]:
        return self._served[issuer_serial(cert)]  # KeyError: not fetched, as the API says


class _SharedTlsSession(LazySession):
    """certvalidator's lazily opened aiohttp session, on a TLS context made once.

    certvalidator's default session loads the CA bundle anew (~25 ms) for every
    validation backend, i.e. for every signature.
    """

    def __init__(self, tls: ssl.SSLContext) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # untyped in certvalidator
        self._tls = tls
        self._client: aiohttp.ClientSession | None = None

    def get_session(self) -> aiohttp.ClientSession:
        if self._client is None:
            # Opened inside the running event loop, to which it then belongs.
            self._client = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self._tls))
        return self._client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()


class CachingFetcherBackend(FetcherBackend):
    """certvalidator's aiohttp fetching, with OCSP/CRL answers reused through ``cache``.

    One backend per event loop (its HTTP session belongs to the loop that opened
    it); the cache outlives it.  The caller closes it.
    """

    def __init__(
        self, cache: RevocationCache, *, tls: ssl.SSLContext, per_request_timeout: float
    ) -> None:
        self._cache = cache
        self._http = AIOHttpFetcherBackend(per_request_timeout=per_request_timeout)
        self._http.session = _SharedTlsSession(tls)

    def get_fetchers(self) -> Fetchers:
        fetchers = self._http.get_fetchers()
        if not self._cache.enabled:
            return fetchers
        return Fetchers(
            ocsp_fetcher=_CachingOCSPFetcher(fetchers.ocsp_fetcher, self._cache),
            crl_fetcher=_CachingCRLFetcher(fetchers.crl_fetcher, self._cache),
            cert_fetcher=fetchers.cert_fetcher,
        )

    async def close(self) -> None:
        await self._http.close()  # type: ignore[no-untyped-call]  # untyped in certvalidator
