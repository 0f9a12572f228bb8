"""Text files read at the edge: bytes that must be UTF-8, with a located error."""

from __future__ import annotations

from nurture.errors import InputError, Location

__all__ = ["decode_utf8"]


def decode_utf8(data: bytes, file: str, *, error: type[InputError] = InputError) -> str:
    """``data`` as text (a UTF-8 byte-order mark is dropped); bytes that are not UTF-8
    raise ``error`` naming the file, the line and the byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
            Location(file, line),
        ) from None
