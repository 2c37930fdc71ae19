"""A loopback RFC 3161 time-stamp authority for the demo and the tests.

It answers ``POST /`` with ``Content-Type: application/timestamp-query`` as a public TSA does:
a DER ``TimeStampResp`` whose token is a CMS ``SignedData`` over a ``TSTInfo``, signed by a TSA
certificate (extended key usage ``timeStamping``, critical) that a test CA it generates issued.
The CA certificate (``ca_pem``) is what a client is told to trust.

Faults, set with :meth:`TsaSandbox.fail`, make it answer the way a broken or hostile TSA does,
so that tests prove each one is caught: ``rejection`` (status 2, ``badDataFormat``),
``wrong_imprint`` (a token over another digest), ``wrong_nonce`` (another request's nonce),
``unavailable`` (HTTP 503). An unreachable TSA is a stopped sandbox.

The structures are built with ``asn1crypto`` and signed with ``cryptography``; nothing of the
product is imported. Run it on its own with ``python -m aims_workflows.sandbox.tsa``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._basic_auth import basic_credentials, token_matches
from ._server import BackgroundServer, ServedSandbox

__all__ = ["FAULTS", "SandboxAuthority", "TsaSandbox"]

FAULTS = ("rejection", "wrong_imprint", "wrong_nonce", "unavailable")
QUERY = "application/timestamp-query"
REPLY = "application/timestamp-reply"
POLICY = "1.3.6.1.4.1.57264.99.1"  # an arc no real TSA uses: the sandbox's own policy
# certificates valid over any time a test injects
_NOT_BEFORE = datetime(2000, 1, 1, tzinfo=UTC)
_NOT_AFTER = datetime(2099, 12, 31, tzinfo=UTC)


@dataclass
class SandboxAuthority:
    """A test CA and the TSA certificate it issued (ECDSA P-256), made fresh each time."""

    name: str = "aims sandbox TSA"
    time_stamping_eku: bool = True
    ca_key: Any = field(init=False)
    ca_cert: Any = field(init=False)
    tsa_key: Any = field(init=False)
    tsa_cert: Any = field(init=False)

    def __post_init__(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        def name(common: str) -> x509.Name:
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.tsa_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = name(f"{self.name} test CA")
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_NOT_BEFORE)
            .not_valid_after(_NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key()),
                critical=False,
            )
            .sign(self.ca_key, hashes.SHA256())
        )
        # a certificate without timeStamping is one a TSA must not sign tokens with
        usage = [
            ExtendedKeyUsageOID.TIME_STAMPING
            if self.time_stamping_eku
            else ExtendedKeyUsageOID.CODE_SIGNING
        ]
        self.tsa_cert = (
            x509.CertificateBuilder()
            .subject_name(name(self.name))
            .issuer_name(ca_name)
            .public_key(self.tsa_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_NOT_BEFORE)
            .not_valid_after(_NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usage), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                critical=False,
            )
            .sign(self.ca_key, hashes.SHA256())
        )

    def ca_pem(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding

        return bytes(self.ca_cert.public_bytes(Encoding.PEM))

    def der(self, cert: Any) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding

        return bytes(cert.public_bytes(Encoding.DER))

    def respond(
        self, request_der: bytes, *, serial: int, at: datetime, fault: str | None = None
    ) -> bytes:
        """The DER ``TimeStampResp`` to a DER ``TimeStampReq``."""
        from asn1crypto import tsp

        if fault == "rejection":
            return bytes(_rejection("the sandbox was told to reject this request"))
        try:
            request = tsp.TimeStampReq.load(request_der)
            imprint = request["message_imprint"]
            digest = bytes(imprint["hashed_message"].native)
            nonce = request["nonce"].native
            algorithm = imprint["hash_algorithm"]["algorithm"].native
        except (ValueError, TypeError, KeyError):
            return bytes(_rejection("the request is not a DER TimeStampReq"))
        if algorithm not in ("sha256", "sha384", "sha512"):
            return bytes(_rejection(f"hash algorithm {algorithm} is not accepted"))
        if fault == "wrong_imprint":
            digest = hashlib.new(algorithm, b"another document").digest()
        if fault == "wrong_nonce" and nonce is not None:
            nonce += 1
        info: dict[str, Any] = {
            "version": "v1",
            "policy": POLICY,
            "message_imprint": {
                "hash_algorithm": {"algorithm": algorithm},
                "hashed_message": digest,
            },
            "serial_number": serial,
            "gen_time": at.astimezone(UTC),
            "accuracy": {"seconds": 1},
        }
        if nonce is not None:
            info["nonce"] = nonce
        tst_info = tsp.TSTInfo(info)
        cert_req = bool(request["cert_req"].native)
        return bytes(self._granted(tst_info.dump(), at, include_certs=cert_req))

    def _granted(self, content: bytes, at: datetime, *, include_certs: bool) -> bytes:
        from asn1crypto import algos, cms, tsp, x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        tsa_cert = x509.Certificate.load(self.der(self.tsa_cert))
        signed_attrs = cms.CMSAttributes(
            [
                {"type": "content_type", "values": ["tst_info"]},
                {"type": "signing_time", "values": [cms.Time({"utc_time": at.astimezone(UTC)})]},
                {"type": "message_digest", "values": [hashlib.sha256(content).digest()]},
                {
                    "type": "signing_certificate_v2",
                    "values": [
                        {
                            "certs": [
                                {
                                    "hash_algorithm": {"algorithm": "sha256"},
                                    "cert_hash": hashlib.sha256(tsa_cert.dump()).digest(),
                                }
                            ]
                        }
                    ],
                },
            ]
        )
        # the signature covers the attributes' DER as a SET OF (RFC 5652 section 5.4)
        signature = self.tsa_key.sign(signed_attrs.dump(), ec.ECDSA(hashes.SHA256()))
        signer = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": {
                            "issuer": tsa_cert.issuer,
                            "serial_number": tsa_cert.serial_number,
                        }
                    }
                ),
                "digest_algorithm": {"algorithm": "sha256"},
                "signed_attrs": signed_attrs,
                "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
                "signature": signature,
            }
        )
        signed_data: dict[str, Any] = {
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": cms.ParsableOctetString(content),
            },
            "signer_infos": [signer],
        }
        if include_certs:
            signed_data["certificates"] = [
                tsa_cert,
                x509.Certificate.load(self.der(self.ca_cert)),
            ]
        token = cms.ContentInfo(
            {"content_type": "signed_data", "content": cms.SignedData(signed_data)}
        )
        return bytes(
            tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()
        )


def _rejection(text: str) -> bytes:
    """A ``TimeStampResp`` with status rejection and no token (asn1crypto's TimeStampResp
    declares the token required, so the one-field SEQUENCE is declared here)."""
    from asn1crypto import core, tsp

    class Refusal(core.Sequence):
        _fields = [("status", tsp.PKIStatusInfo)]

    status = {
        "status": "rejection",
        "status_string": [text],
        "fail_info": tsp.PKIFailureInfo({"bad_data_format"}),
    }
    return bytes(Refusal({"status": status}).dump())


class TsaSandbox(ServedSandbox):
    """The TSA on a loopback port. ``clock`` gives each token's genTime (tests inject it);
    ``credentials`` (user, password) makes it ask for HTTP basic authentication."""

    def __init__(
        self,
        *,
        authority: SandboxAuthority | None = None,
        clock: Callable[[], datetime] | None = None,
        credentials: tuple[str, str] | None = None,
        port: int = 0,
    ) -> None:
        self.authority = authority or SandboxAuthority()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.credentials = credentials
        self.fault: str | None = None
        self.requests: list[bytes] = []
        """Every request body received, in order (tests read the nonce and imprint)."""
        self._serial = 0
        self._lock = threading.Lock()
        self._server = BackgroundServer(
            Starlette(routes=[Route("/", self._stamp, methods=["POST"])]), port=port
        )

    @property
    def url(self) -> str:
        return self._server.url + "/"

    def fail(self, fault: str | None) -> None:
        """Answer every later request with ``fault`` (one of FAULTS), or normally (None)."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}: one of {', '.join(FAULTS)}")
        self.fault = fault

    async def _stamp(self, request: Request) -> Response:
        if self.credentials is not None and not self._authorised(request):
            return Response(
                "authentication required",
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="tsa"'},
            )
        if request.headers.get("content-type", "").split(";")[0].strip() != QUERY:
            return Response(f"send {QUERY}", status_code=415)
        body = await request.body()
        if self.fault == "unavailable":
            return Response("the sandbox was told to be unavailable", status_code=503)
        with self._lock:
            self.requests.append(body)
            self._serial += 1
            serial = self._serial
        answer = self.authority.respond(body, serial=serial, at=self.clock(), fault=self.fault)
        return Response(answer, media_type=REPLY)

    def _authorised(self, request: Request) -> bool:
        given = basic_credentials(request.headers.get("authorization", ""))
        assert self.credentials is not None
        user, password = self.credentials
        return (
            given is not None
            and token_matches(user, given[0])
            and token_matches(password, given[1])
        )


def _main() -> None:  # pragma: no cover - a convenience for trying the TSA by hand
    import argparse
    import time
    from pathlib import Path

    parser = argparse.ArgumentParser(description="a loopback RFC 3161 TSA with a test CA")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ca-out", type=Path, default=Path("tsa-sandbox-ca.pem"))
    args = parser.parse_args()
    sandbox = TsaSandbox(port=args.port).start()
    args.ca_out.write_bytes(sandbox.authority.ca_pem())
    print(f"AIMS_WITNESS_TSA_URL={sandbox.url}")
    print(f"AIMS_WITNESS_TSA_CA={args.ca_out.resolve()}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sandbox.stop()


if __name__ == "__main__":  # pragma: no cover
    _main()
