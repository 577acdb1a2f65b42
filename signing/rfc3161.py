"""RFC 3161 bits shared by the timestamp client (signer) and the local TSA."""

from __future__ import annotations

from typing import ClassVar

from asn1crypto import core, tsp

QUERY_CONTENT_TYPE = "application/timestamp-query"
REPLY_CONTENT_TYPE = "application/timestamp-reply"


class StatusOnlyResp(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """A TimeStampResp read or written without its token.

    RFC 3161 makes ``timeStampToken`` optional (it is absent unless the request
    was granted), but asn1crypto's ``TimeStampResp`` declares it mandatory and
    neither encodes nor decodes a refusal.  This view covers that case.
    """

    _fields: ClassVar[list[tuple[str, type]]] = [("status", tsp.PKIStatusInfo)]


def rejection(fail_info: str, text: str) -> StatusOnlyResp:
    return StatusOnlyResp(
        {
            "status": tsp.PKIStatusInfo(
                {
                    "status": tsp.PKIStatus("rejection"),
                    "status_string": [text],
                    "fail_info": tsp.PKIFailureInfo({fail_info}),
                }
            )
        }
    )


def describe_refusal(data: bytes) -> str | None:
    """The status and texts of a token-less reply, or None if ``data`` is not one."""
    try:
        status = StatusOnlyResp.load(data)["status"].native
    except ValueError:
        return None
    texts = "; ".join(status.get("status_string") or [])
    fails = ", ".join(sorted(status.get("fail_info") or []))
    return (
        f"{status['status']}" + (f" ({fails})" if fails else "") + (f": {texts}" if texts else "")
    )
