"""The development PKI's online services on one local port: TSA, OCSP responder, CRL.

Endpoints (relative to ``http://host:port``)::

    POST /tsa            RFC 3161 (also POST /, so a bare base URL works as a TSA URL)
    POST /ocsp           RFC 6960 over HTTP (application/ocsp-request)
    GET  /ocsp/<b64>     RFC 6960 appendix A.1 GET form (what NSS/pdfsig uses)
    GET  /crl/ca.crl     the issuing CA's CRL, DER

The certificates written by ``init_pki(..., services_url=...)`` point at the
OCSP and CRL endpoints, so the port must be the one the PKI was created with;
:func:`services_url` derives it from the settings for both.
"""

from __future__ import annotations

import base64
import binascii
import threading
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from urllib.parse import unquote

from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from medlicense.settings import Settings
from signing.pki import CRL_PATH, OCSP_PATH, TSA_PATH, PkiPaths
from signing.revocation import RevocationAuthority
from signing.rfc3161 import QUERY_CONTENT_TYPE, REPLY_CONTENT_TYPE
from signing.tsa import BackgroundHttpService, BinaryRequestHandler, build_stamper, timestamp_reply

OCSP_REQUEST_TYPE = "application/ocsp-request"
OCSP_RESPONSE_TYPE = "application/ocsp-response"
CRL_TYPE = "application/pkix-crl"


def services_url(settings: Settings) -> str:
    """Base URL of the local PKI services as configured (written into dev certificates)."""
    return f"http://{settings.pki_services_host}:{settings.pki_services_port}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        stamper: DummyTimeStamper,
        authority: RevocationAuthority,
    ) -> None:
        super().__init__(address, _Handler)
        self.stamper = stamper
        self.authority = authority
        # OCSP and CRL signing share the CA key object; serialise them rather
        # than rely on the thread safety of every backend.
        self.lock = threading.Lock()


class _Handler(BinaryRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path in ("", TSA_PATH):
            body = self.read_body(QUERY_CONTENT_TYPE)
            if body is not None:
                self.reply(REPLY_CONTENT_TYPE, timestamp_reply(self.server.stamper, body))
        elif path == OCSP_PATH:
            body = self.read_body(OCSP_REQUEST_TYPE)
            if body is not None:
                self._ocsp(body)
        else:
            self._reply_plain(HTTPStatus.NOT_FOUND, "no such endpoint")

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == CRL_PATH:
            with self.server.lock:
                crl = self.server.authority.crl()
            self.reply(CRL_TYPE, crl)
        elif path.startswith(OCSP_PATH + "/"):
            encoded = unquote(path[len(OCSP_PATH) + 1 :])
            try:
                request = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                self._reply_plain(HTTPStatus.BAD_REQUEST, "OCSP GET path is not base64")
                return
            self._ocsp(request)
        else:
            self._reply_plain(HTTPStatus.NOT_FOUND, "no such endpoint")

    def _ocsp(self, request: bytes) -> None:
        with self.server.lock:
            response = self.server.authority.ocsp_response(request)
        self.reply(OCSP_RESPONSE_TYPE, response)


class LocalPkiServices(BackgroundHttpService):
    """TSA + OCSP + CRL of one development PKI on ``host:port``, in a thread.

    ``port=0`` picks a free port (its URLs are then only useful for a PKI created
    afterwards with :attr:`url` — tests bind first, then create the PKI).
    """

    bind_error_code = "signing.pki_services_unavailable"
    thread_name = "local-pki"

    def __init__(
        self, pki: PkiPaths, passphrase: str, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(host, port)
        self._stamper = build_stamper(pki)
        self._authority = RevocationAuthority(pki, passphrase)

    def _make_server(self, address: tuple[str, int]) -> ThreadingHTTPServer:
        return _Server(address, self._stamper, self._authority)

    @property
    def url(self) -> str:
        return self.base_url

    @property
    def tsa_url(self) -> str:
        return self.url + TSA_PATH

    @property
    def ocsp_url(self) -> str:
        return self.url + OCSP_PATH

    @property
    def crl_url(self) -> str:
        return self.url + CRL_PATH
