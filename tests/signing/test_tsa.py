"""The local RFC 3161 TSA speaks the protocol, rejects what is not a query, and
its tokens verify against the dev PKI."""

from __future__ import annotations

import asyncio
import hashlib

import httpx
from asn1crypto import tsp

from signing.pki import PkiPaths
from signing.rfc3161 import QUERY_CONTENT_TYPE, REPLY_CONTENT_TYPE, StatusOnlyResp
from signing.signer import HttpxTimeStamper
from signing.tsa import LocalTSA


def _query(digest: bytes) -> bytes:
    query: bytes = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": digest,
            },
            "nonce": 12345,
            "cert_req": True,
        }
    ).dump()
    return query


def test_grants_a_token_for_a_query(tsa: LocalTSA) -> None:
    digest = hashlib.sha256(b"license").digest()
    response = httpx.post(
        tsa.url, content=_query(digest), headers={"Content-Type": QUERY_CONTENT_TYPE}
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == REPLY_CONTENT_TYPE
    reply = tsp.TimeStampResp.load(response.content)
    assert reply["status"]["status"].native == "granted"
    tst_info = reply["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert tst_info["message_imprint"]["hashed_message"].native == digest
    assert tst_info["nonce"].native == 12345


def test_rejects_garbage_with_a_pki_status(tsa: LocalTSA) -> None:
    response = httpx.post(
        tsa.url, content=b"\x30\x03junk", headers={"Content-Type": QUERY_CONTENT_TYPE}
    )
    assert response.status_code == 200
    # A refusal carries no token, so read it with the status-only view.
    status = StatusOnlyResp.load(response.content)["status"].native
    assert status["status"] == "rejection"
    assert "bad_data_format" in status["fail_info"]


def test_wrong_method_and_content_type(tsa: LocalTSA) -> None:
    assert httpx.get(tsa.url).status_code == 405
    assert (
        httpx.post(tsa.url, content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
    )


def test_pyhanko_client_path_and_token_chain(tsa: LocalTSA, dev_pki: PkiPaths) -> None:
    stamper = HttpxTimeStamper(tsa.url)
    token = asyncio.run(stamper.async_timestamp(hashlib.sha256(b"x").digest(), "sha256"))
    certs = [c.chosen for c in token["content"]["certificates"]]
    subjects = {c.subject.native["common_name"] for c in certs}
    # The TSA embeds its own certificate and the issuing CA, never the root.
    assert subjects == {"MedLicense Dev TSA", "MedLicense Dev Issuing CA"}


def test_ephemeral_ports_and_restart(dev_pki: PkiPaths) -> None:
    a, b = LocalTSA(dev_pki), LocalTSA(dev_pki)
    with a, b:
        assert a.url != b.url
        assert a.running
    assert not a.running
    with a:  # a stopped TSA can be started again
        assert httpx.get(a.url).status_code == 405
