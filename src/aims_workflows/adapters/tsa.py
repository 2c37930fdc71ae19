"""An RFC 3161 time-stamp authority as a witness: each checkpoint's digest, stamped by a TSA.

:meth:`TsaClient.stamp` sends a ``TimeStampReq`` (SHA-256 of the checkpoint's signed bytes, a
random nonce, ``certReq`` true) as ``application/timestamp-query`` and accepts the answer only
when the token vouches for that digest (:func:`~aims_workflows.engine.timestamps.token_problem`:
status granted, imprint and nonce the request's, signature and chain valid against the
configured CA, ``timeStamping`` usage). The DER answer is what the ledger keeps.

A TSA that cannot be reached or answers 5xx is retried by the outbox; one that refuses or gives
a token that does not hold is a permanent failure (the command is dead-lettered and ``aims
evidence verify --witnesses`` names the checkpoint that has no token).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ..engine.timestamps import token_problem
from ..errors import ConfigError, PermanentError, RetryableError

__all__ = ["TsaClient", "Stamp", "trusted_certificates"]

QUERY = "application/timestamp-query"


def trusted_certificates(path: Path | None) -> bytes:
    """The PEM bundle TSA certificates must chain to: the configured file, else certifi's
    bundle of public CAs. ConfigError when the file is missing or holds no certificate."""
    from ..engine.timestamps import split_pem

    hint = "set AIMS_WITNESS_TSA_CA to a PEM file of the TSA's CA certificate"
    if path is None:
        import certifi

        return Path(certifi.where()).read_bytes()
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError(
            f"cannot read the TSA CA file {path}: {err.strerror or err}", hint=hint
        ) from None
    if not split_pem(data):
        raise ConfigError(f"{path} holds no PEM certificate", hint=hint)
    return data


@dataclass(frozen=True)
class Stamp:
    """A TSA's verified answer: the DER ``TimeStampResp`` and what it says."""

    response: bytes
    gen_time: str
    serial: int


class TsaClient:
    """One TSA: its URL, the CA bundle its certificate must chain to, optional basic-auth
    credentials (never logged, never in an error), and an ``httpx`` client (tests may pass
    one)."""

    def __init__(
        self,
        url: str,
        trusted_pem: bytes,
        *,
        auth: tuple[str, str] | None = None,
        timeout: float = 20.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.url = url
        self.trusted_pem = trusted_pem
        self._auth = auth
        self._http = http or httpx.Client(timeout=timeout)

    def __repr__(self) -> str:
        return f"TsaClient({self.url!r})"

    def stamp(self, message: bytes, what: str) -> Stamp:
        """Timestamp ``message`` (a checkpoint's signed bytes, named ``what`` in errors)."""
        from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

        from ..engine.timestamps import token_facts

        request = (
            TimestampRequestBuilder()
            .data(message)
            .hash_algorithm(HashAlgorithm.SHA256)
            .nonce(nonce=True)
            .cert_request(cert_request=True)
            .build()
        )
        answer = self._post(request.as_bytes())
        problem = token_problem(what, message, answer, self.trusted_pem, nonce=request.nonce)
        if problem is not None:
            raise PermanentError(
                f"the TSA at {self.url} gave no usable token: {problem}",
                hint="check AIMS_WITNESS_TSA_URL and AIMS_WITNESS_TSA_CA (the TSA's CA)",
            )
        facts = token_facts(answer)
        return Stamp(answer, str(facts["gen_time"]), int(facts["serial"]))

    def _post(self, body: bytes) -> bytes:
        kwargs: dict[str, Any] = {"content": body, "headers": {"Content-Type": QUERY}}
        if self._auth is not None:
            kwargs["auth"] = httpx.BasicAuth(*self._auth)
        try:
            answer = self._http.post(self.url, **kwargs)
        except httpx.TransportError as err:
            raise RetryableError(
                f"the TSA at {self.url} is unreachable ({type(err).__name__})",
                hint="check AIMS_WITNESS_TSA_URL and the network path to it",
            ) from None
        if answer.status_code in (401, 403):
            raise PermanentError(
                f"the TSA at {self.url} refused the credentials (HTTP {answer.status_code})",
                hint="set AIMS_WITNESS_TSA_USERNAME and AIMS_WITNESS_TSA_PASSWORD",
            )
        if answer.status_code == 429 or answer.status_code >= 500:
            raise RetryableError(
                f"the TSA at {self.url} is unavailable (HTTP {answer.status_code})"
            )
        if answer.status_code != 200:
            raise PermanentError(
                f"the TSA at {self.url} answered HTTP {answer.status_code}",
                hint="check that AIMS_WITNESS_TSA_URL is an RFC 3161 endpoint",
            )
        return answer.content
