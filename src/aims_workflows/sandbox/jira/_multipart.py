"""A minimal ``multipart/form-data`` reader for attachment uploads.

Starlette's own form parser needs ``python-multipart``, which the project does not depend
on; uploads here are small and come from well-behaved clients, so splitting on the boundary
is enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

__all__ = ["FormPart", "parse_multipart"]


@dataclass(frozen=True)
class FormPart:
    """One part: its form field name, file name (if a file), content type and bytes."""

    name: str | None
    filename: str | None
    content_type: str
    content: bytes


def _params(header_value: str, header_name: str = "content-type") -> Message:
    holder = Message()
    holder[header_name] = header_value
    return holder


def parse_multipart(content_type: str, body: bytes) -> list[FormPart]:
    """Split ``body`` into its parts; raise ValueError when it is not multipart/form-data."""
    header = _params(content_type)
    if header.get_content_type() != "multipart/form-data":
        raise ValueError("the request is not multipart/form-data")
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError("the multipart request has no boundary")
    parts: list[FormPart] = []
    for chunk in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        raw_head, _, content = chunk.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in raw_head.decode("utf-8", "replace").split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        disposition = _params(headers.get("content-disposition", ""), "content-disposition")
        field_name = disposition.get_param("name", header="content-disposition")
        filename = disposition.get_filename()
        parts.append(
            FormPart(
                name=field_name if isinstance(field_name, str) else None,
                filename=filename,
                content_type=headers.get("content-type", "application/octet-stream"),
                content=content,
            )
        )
    return parts
