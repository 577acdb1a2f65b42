"""A local RFC 3161 timestamp authority for development, CI and tests.

Production uses the national TSA; this one only exists so that PAdES B-T
signatures can be produced and verified offline with the development PKI.  The
token itself is built by pyHanko's ``DummyTimeStamper`` (an in-process TSA); this
module only puts it behind HTTP the way a real TSA is reached (RFC 3161 §3.4),
so the signer exercises exactly the client path it uses in production.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from asn1crypto import cms, core, tsp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.keys import load_private_key_from_pemder
from pyhanko.sign.general import as_signing_certificate, simple_cms_attribute
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from medlicense.errors import SigningError
from signing import install_speedups
from signing.pki import PkiPaths
from signing.rfc3161 import QUERY_CONTENT_TYPE, REPLY_CONTENT_TYPE, StatusOnlyResp, rejection
from signing.trust import load_certificate

install_speedups()

log = logging.getLogger(__name__)

# A TimeStampReq is a digest plus a few small fields; anything much larger is not
# a timestamp request and should not be buffered.
MAX_REQUEST_BYTES = 16 * 1024


class _TsaServer(ThreadingHTTPServer):
    daemon_threads = True
    # Tests open and close TSAs quickly; do not wait for TIME_WAIT sockets.
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], stamper: DummyTimeStamper) -> None:
        super().__init__(address, _TsaHandler)
        self.stamper = stamper


class BinaryRequestHandler(BaseHTTPRequestHandler):
    """Shared plumbing of the local PKI endpoints: bounded bodies, exact replies."""

    protocol_version = "HTTP/1.1"
    max_request_bytes = MAX_REQUEST_BYTES
    # Headers and body leave in two writes; on a kept-alive connection Nagle's
    # algorithm holds the body until the client's delayed ACK (~40 ms per
    # answer), which made the OCSP answers of one signature cost more waiting
    # than all of its computing.
    disable_nagle_algorithm = True

    def read_body(self, content_type: str) -> bytes | None:
        """The request body, or None after answering the client with an HTTP error."""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != content_type:
            self._reply_plain(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "expected " + content_type)
            return None
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            self._reply_plain(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
            return None
        if not 0 < length <= self.max_request_bytes:
            self._reply_plain(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "bad request size")
            return None
        return self.rfile.read(length)

    def reply(self, content_type: str, data: bytes, *, status: HTTPStatus = HTTPStatus.OK) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        # Keep test and CLI output clean; the access log is debug information.
        log.debug("local PKI service: " + format, *args)

    def _reply_plain(self, status: HTTPStatus, text: str) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


def timestamp_reply(stamper: DummyTimeStamper, body: bytes) -> bytes:
    """The DER TimeStampResp answering ``body``; a refusal, never an exception."""
    response: tsp.TimeStampResp | StatusOnlyResp
    try:
        request = tsp.TimeStampReq.load(body)
        # asn1crypto parses lazily; force it so garbage is caught here and
        # answered as badDataFormat rather than as a server crash.
        _ = request.native
    except ValueError:
        return bytes(rejection("bad_data_format", "malformed TimeStampReq").dump())
    try:
        response = stamper.request_tsa_response(request)
    except Exception:  # the TSA must answer with a PKIStatus, never drop the line
        log.exception("local TSA failed to build a token")
        response = rejection("system_failure", "local TSA could not build a token")
    return bytes(response.dump())


class _TsaHandler(BinaryRequestHandler):
    server: _TsaServer

    def do_POST(self) -> None:
        body = self.read_body(QUERY_CONTENT_TYPE)
        if body is not None:
            self.reply(REPLY_CONTENT_TYPE, timestamp_reply(self.server.stamper, body))

    def do_GET(self) -> None:
        self._reply_plain(HTTPStatus.METHOD_NOT_ALLOWED, "POST a " + QUERY_CONTENT_TYPE)


class _ParsedKeyTimeStamper(DummyTimeStamper):
    """pyHanko's in-process TSA, signing with a key object parsed once.

    ``DummyTimeStamper`` re-parses its DER key for every token, and
    cryptography checks an RSA key's consistency on each parse (~45 ms): for a
    B-LTA signature (two tokens) that was more than the rest of the TSA's work.
    The signed attributes are built exactly as pyHanko builds them.
    """

    def __init__(self, *, tsa_private_key: rsa.RSAPrivateKey, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tsa_private_key = tsa_private_key

    def _sign_tst_info(
        self, tst_info_data: bytes, md_algorithm: str, dt: datetime
    ) -> tuple[bytes, cms.CMSAttributes]:
        md = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        md.update(tst_info_data)
        signed_attrs = cms.CMSAttributes(
            [
                _attribute("content_type", "tst_info"),
                _attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                _attribute("signing_certificate", as_signing_certificate(self.tsa_cert)),
                _attribute("message_digest", md.finalize()),
            ]
        )
        signature = self._tsa_private_key.sign(
            signed_attrs.dump(), PKCS1v15(), get_pyca_cryptography_hash(md_algorithm.upper())
        )
        return signature, signed_attrs


def _attribute(name: str, value: Any) -> cms.CMSAttribute:
    return simple_cms_attribute(name, value)  # type: ignore[no-untyped-call]  # untyped in pyHanko


def build_stamper(pki: PkiPaths) -> DummyTimeStamper:
    """The in-process TSA behind :class:`LocalTSA` (usable directly where no HTTP is wanted)."""
    try:
        tsa_cert = load_certificate(pki.tsa_cert)
        tsa_key = load_private_key_from_pemder(str(pki.tsa_key), passphrase=None)
        issuing_ca = load_certificate(pki.ca_cert)
        private_key = serialization.load_der_private_key(tsa_key.dump(), password=None)
    except (OSError, ValueError) as exc:
        raise SigningError(
            f"cannot load the TSA certificate or key from {pki.directory}: {exc}",
            code="signing.tsa_key_missing",
        ) from exc
    if not isinstance(private_key, rsa.RSAPrivateKey):
        # pyHanko's token builder signs with PKCS#1 v1.5 only.
        raise SigningError(
            f"the development TSA key in {pki.directory} must be an RSA key",
            code="signing.tsa_key_missing",
        )
    # Embedding the issuing CA lets a verifier build the TSA path from the token
    # alone; the root stays out because it must come from the verifier's trust store.
    return _ParsedKeyTimeStamper(
        tsa_private_key=private_key,
        tsa_cert=tsa_cert,
        tsa_key=tsa_key,
        certs_to_embed=SimpleCertificateStore.from_certs([issuing_ca]),  # type: ignore[no-untyped-call]
    )


class BackgroundHttpService:
    """An HTTP server of ours running in a daemon thread on ``host:port``.

    Use as a context manager, or call :meth:`start` / :meth:`stop` explicitly when
    the service has to outlive a ``with`` block (a long-running flow worker).
    Subclasses say how to build their server and which error code a failed bind gets.
    """

    bind_error_code = "signing.tsa_unavailable"
    thread_name = "local-service"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _make_server(self, address: tuple[str, int]) -> ThreadingHTTPServer:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise SigningError(
                f"the {self.thread_name} service is not running", code=self.bind_error_code
            )
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> Self:
        if self._server is not None:
            return self
        try:
            server = self._make_server(self._address)
        except OSError as exc:
            raise SigningError(
                f"cannot listen on {self._address[0]}:{self._address[1]}: {exc}",
                code=self.bind_error_code,
            ) from exc
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"{self.thread_name}-{server.server_address[1]}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class LocalTSA(BackgroundHttpService):
    """RFC 3161 over HTTP on ``host:port`` (an ephemeral port by default), in a thread."""

    thread_name = "local-tsa"

    def __init__(self, pki: PkiPaths, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._stamper = build_stamper(pki)

    def _make_server(self, address: tuple[str, int]) -> ThreadingHTTPServer:
        return _TsaServer(address, self._stamper)

    @property
    def url(self) -> str:
        return self.base_url + "/"
