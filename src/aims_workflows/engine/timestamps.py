"""RFC 3161 time-stamp tokens of the ledger checkpoints: what a token must show to vouch for one.

A checkpoint (:mod:`.checkpoints`) is timestamped by sending the SHA-256 of the bytes its
witness key signs to a time-stamp authority (TSA). The TSA's answer, a DER ``TimeStampResp``,
is kept in the ledger (kind ``ledger.timestamp``, base64) and in the audit pack. It vouches for
the checkpoint when:

* its status is granted;
* its ``messageImprint`` is SHA-256 of the checkpoint's signed bytes (so the checkpoint was not
  changed after the TSA saw it) and, when asked for, its nonce is the request's;
* its CMS signature holds and the signing certificate chains, at the token's ``genTime``, to a
  certificate the verifier trusts, and carries the ``timeStamping`` extended key usage.

The checks need the ``rfc3161-client`` package (``pip install rfc3161-client``); without it
:func:`token_problem` raises ImportError and the caller says the tokens were not checked.
Everything else here is the standard library (Python 3.8 syntax): the audit pack ships this
file as ``evidence/aims_timestamps.py``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any

__all__ = [
    "checkpoint_digest",
    "decode_token",
    "split_pem",
    "token_facts",
    "token_problem",
]

_PEM = re.compile(
    rb"-----BEGIN CERTIFICATE-----\s+[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----", re.DOTALL
)


def checkpoint_digest(message: bytes) -> str:
    """SHA-256 (hex) of a checkpoint's signed bytes: the digest the TSA stamps."""
    return hashlib.sha256(message).hexdigest()


def decode_token(text: str) -> bytes:
    """The DER ``TimeStampResp`` from its base64 form; ValueError when it is not base64."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as err:
        raise ValueError(f"a timestamp token is base64 text: {err}") from None


def split_pem(data: bytes) -> list[bytes]:
    """Every PEM certificate block in ``data`` (a CA bundle), in order."""
    return [m.group(0) for m in _PEM.finditer(data)]


def _load(response_der: bytes) -> Any:
    from rfc3161_client import decode_timestamp_response

    try:
        return decode_timestamp_response(response_der)
    except Exception as err:  # noqa: BLE001 - the parser's errors name no common type
        raise ValueError(f"not a DER TimeStampResp ({err})") from None


def _trust(trusted_pem: bytes) -> tuple[list[Any], list[Any]]:
    """(roots, intermediates) of a PEM bundle: self-issued certificates are roots."""
    from cryptography import x509

    roots: list[Any] = []
    intermediates: list[Any] = []
    for block in split_pem(trusted_pem):
        cert = x509.load_pem_x509_certificate(block)
        (roots if cert.issuer == cert.subject else intermediates).append(cert)
    return roots, intermediates


def token_facts(response_der: bytes) -> dict[str, Any]:
    """What a token says (status, genTime, serial, digest, nonce, the certificates it carries
    as PEM); ValueError when it does not parse. Needs ``rfc3161-client``."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    response = _load(response_der)
    facts: dict[str, Any] = {
        "status": int(response.status),
        "status_string": list(response.status_string),
    }
    if facts["status"] not in (0, 1):
        return facts
    info = response.tst_info
    facts.update(
        gen_time=info.gen_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        serial=info.serial_number,
        digest=info.message_imprint.message.hex(),
        nonce=info.nonce,
        certificates=[
            x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode("ascii")
            for der in sorted(response.signed_data.certificates)
        ],
    )
    return facts


def token_problem(
    what: str, message: bytes, response_der: bytes, trusted_pem: bytes, nonce: int | None = None
) -> str | None:
    """Why the token does not vouch for ``message`` (the checkpoint's signed bytes, named
    ``what`` in the answer), or None when it does. ``trusted_pem`` holds the CA certificates
    trusted to issue TSA certificates; ``nonce``, when given, must be the token's.

    Raises ImportError when ``rfc3161-client`` is not installed."""
    from rfc3161_client import VerificationError, VerifierBuilder

    try:
        response = _load(response_der)
    except ValueError as err:
        return f"the timestamp token of {what} is damaged: {err}"
    if int(response.status) not in (0, 1):
        said = "; ".join(response.status_string) or "no reason given"
        return f"the TSA refused to timestamp {what} (status {int(response.status)}: {said})"
    info = response.tst_info
    want = hashlib.sha256(message).digest()
    if info.message_imprint.message != want:
        return (
            f"the timestamp token of {what} stamps digest {info.message_imprint.message.hex()}, "
            f"but the checkpoint's signed bytes hash to {want.hex()}: the checkpoint is not the "
            "one the TSA saw"
        )
    if nonce is not None and info.nonce != nonce:
        return (
            f"the timestamp token of {what} answers another request (nonce {info.nonce}, the "
            f"request sent {nonce}): a replayed or misrouted answer"
        )
    roots, intermediates = _trust(trusted_pem)
    if not roots:
        return f"the timestamp token of {what} cannot be checked: no trusted CA certificate"
    builder = VerifierBuilder()
    for cert in roots:
        builder = builder.add_root_certificate(cert)
    for cert in intermediates:
        builder = builder.add_intermediate_certificate(cert)
    try:
        builder.build().verify(response, want)
    except VerificationError as err:
        return (
            f"the timestamp token of {what} is not signed by a trusted time-stamp authority "
            f"({_reason(err)})"
        )
    return None


def _reason(err: Exception) -> str:
    """OpenSSL's reason out of the library's error stack (``Verify error: ...``), or the
    error itself."""
    text = str(err)
    found = re.search(r'data: "([^"]+)"', text)
    return found.group(1) if found else text
