"""Reading the client's messages: framing, envelopes, and what happens when they are wrong.

pygls 2 reads a stream with ``pygls.io_.run_async``. Two things go wrong there with
hostile or broken input:

* a header it cannot parse (``Content-Length: abc``, a negative length) is skipped
  silently and the stream is out of step from then on: every later message is read as
  a header and nothing is ever answered again, while the process stays alive;
* a request whose params do not fit its method (``position.line: -1``, ``params: "x"``)
  fails inside ``json.loads`` before its id is known: it is logged and never answered,
  so the client waits for ever.

:meth:`phasegate.lsp.core.PhasegateServer.start_io` (and ``start_tcp``) read with
:func:`serve_stream` instead, and the protocol is a :class:`StrictProtocol`:

* **Framing** (:func:`read_message`): the header block is read line by line (``\\r\\n``,
  a bare ``\\n`` accepted), header names case-insensitively, ``Content-Type`` and unknown
  headers ignored, empty lines between messages skipped. A header line that is not
  ``Name: value``, a ``Content-Length`` that is not a decimal number of at most
  :data:`MAX_CONTENT_LENGTH` bytes, a header block without one, two that disagree, or
  an input that ends inside a header block or a body is a :class:`FramingError`.
  After one, no later byte can be trusted to start a message — a body read as headers,
  or headers swallowed as a body, could execute what the client never sent — and the
  messages already lost (a ``didSave``, a request) leave the server's picture of the
  client wrong. So the server does not resynchronise: it logs the reason (also as
  ``window/logMessage``), stops its work and exits with :data:`EXIT_CORRUPT_INPUT`; the
  client sees the server end and restarts it, which re-reads the workspace.
* **Envelopes** (:meth:`StrictProtocol.receive`): a body that is not JSON is answered
  ``ParseError`` (-32700), a message that is not a JSON-RPC 2.0 object (no ``"jsonrpc":
  "2.0"``, an id that is neither a string nor an integer, a method that is not a string,
  a request sent to a notification method) ``InvalidRequest`` (-32600), both with the
  request's id when it has a valid one, else ``null``. A request whose params do not
  fit the method's type is answered ``InvalidParams`` (-32602) with one sentence saying
  what is wrong where; a notification with such params is dropped with a warning in
  the log (a notification is never answered). A request that arrives after
  ``shutdown`` is answered ``InvalidRequest`` rather than dropped.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
import threading
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

import attrs
from cattrs import BaseValidationError, transform_error
from cattrs.v import format_exception
from lsprotocol.types import EXIT, ErrorCodes
from pygls.exceptions import JsonRpcInternalError
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import JsonRPCNotification, JsonRPCRequestMessage, RPCRequest

if TYPE_CHECKING:
    from pygls.protocol.json_rpc import RPCMessage

log = logging.getLogger(__name__)
_pending_writes: set[asyncio.Future[Any]] = set()  # asynchronous writes under way

# Exit code of a server whose input could not be read as LSP messages any more. 1 is the
# LSP's "exit without shutdown"; 2, as for the command line, means the input was unusable.
EXIT_CORRUPT_INPUT = 2
MAX_HEADER_LINE = 8192  # bytes, newline included: real headers are under 100
MAX_HEADER_LINES = 32  # header lines in one block
MAX_CONTENT_LENGTH = 256 * 1024 * 1024  # larger than any document an editor syncs
READ_CHUNK = 1024 * 1024  # a body is read in chunks: memory grows with what arrives
_DIGITS = re.compile(rb"[0-9]{1,12}")


class FramingError(Exception):
    """The input can no longer be read as LSP messages (the message says why)."""


class ByteReader(Protocol):
    """Where :func:`read_message` reads from."""

    async def readline(self, limit: int) -> bytes:
        """One line, newline included; at most ``limit`` bytes; ``b""`` at the end."""
        ...

    async def read(self, n: int) -> bytes:
        """``n`` bytes; fewer only at the end of the input."""
        ...


class StdioReader:
    """A blocking binary stream (stdin) read in a worker thread."""

    def __init__(self, stream: BinaryIO, executor: Executor | None = None) -> None:
        self._stream = stream
        self._executor = executor

    async def readline(self, limit: int) -> bytes:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._stream.readline, limit)

    async def read(self, n: int) -> bytes:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._read, n)

    def _read(self, n: int) -> bytes:
        chunks: list[bytes] = []
        left = n
        while left > 0:
            chunk = self._stream.read(min(left, READ_CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


class StreamByteReader:
    """An :class:`asyncio.StreamReader` (a TCP connection)."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self._stream = stream

    async def readline(self, limit: int) -> bytes:
        try:
            line = await self._stream.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            return exc.partial
        except asyncio.LimitOverrunError:
            raise FramingError(f"a header line is longer than {limit} bytes") from None
        if len(line) > limit:
            raise FramingError(f"a header line is longer than {limit} bytes")
        return line

    async def read(self, n: int) -> bytes:
        try:
            return await self._stream.readexactly(n)
        except asyncio.IncompleteReadError as exc:
            return exc.partial


def _shown(raw: bytes, limit: int = 40) -> str:
    text = raw[:limit].decode("utf-8", "replace")
    return repr(text + ("…" if len(raw) > limit else ""))


async def read_message(reader: ByteReader) -> bytes | None:
    """The next message's body; None when the input ends between two messages.

    Raises :class:`FramingError` when the header block is malformed or the input ends
    inside a message (see the module docs)."""
    length: int | None = None
    lines = 0
    while True:
        line = await reader.readline(MAX_HEADER_LINE)
        if not line:
            if lines:
                raise FramingError("the input ended inside a message header")
            return None
        if not line.endswith(b"\n"):
            if len(line) >= MAX_HEADER_LINE:
                raise FramingError(f"a header line is longer than {MAX_HEADER_LINE} bytes")
            raise FramingError(f"the input ended inside a header line ({_shown(line)})")
        text = line[:-2] if line.endswith(b"\r\n") else line[:-1]
        if not text:
            if lines == 0:
                continue  # empty lines between messages
            if length is None:
                raise FramingError("a message header has no Content-Length")
            break
        lines += 1
        if lines > MAX_HEADER_LINES:
            raise FramingError(f"a message header has more than {MAX_HEADER_LINES} lines")
        name, colon, value = text.partition(b":")
        if not colon or not name.strip():
            raise FramingError(f"not a message header: {_shown(text)}")
        if name.strip().lower() != b"content-length":
            continue  # Content-Type, or a header this server does not know
        value = value.strip()
        if not _DIGITS.fullmatch(value):
            raise FramingError(f"invalid Content-Length {_shown(value)}: not a number of bytes")
        n = int(value)
        if n > MAX_CONTENT_LENGTH:
            raise FramingError(
                f"Content-Length {n} is more than the {MAX_CONTENT_LENGTH} bytes this server reads"
            )
        if length is not None and length != n:
            raise FramingError(f"two different Content-Length headers ({length} and {n})")
        length = n
    body = await reader.read(length)
    if len(body) < length:
        raise FramingError(
            f"the input ended {length - len(body)} bytes short of a {length}-byte message"
        )
    return body


async def serve_stream(
    reader: ByteReader, protocol: StrictProtocol, stop: threading.Event
) -> str | None:
    """Read messages and hand each to ``protocol`` until the input ends or ``stop`` is
    set. None at a clean end; the reason when the input could not be read (a
    :class:`FramingError`)."""
    while not stop.is_set():
        try:
            body = await read_message(reader)
        except FramingError as exc:
            return str(exc)
        if body is None:
            return None
        try:
            protocol.receive(body)
        except Exception:  # one message must never end the loop
            log.exception("could not handle a message")
    return None


def _camel(path: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), path)


def _format(exc: BaseException, type_: type | None) -> str:
    if isinstance(exc, ValueError) and str(exc):
        return str(exc).rstrip(".")  # the validator's own words: "… but was -1"
    return format_exception(exc, type_)


def describe_invalid(exc: BaseException) -> str:
    """What is wrong with a message that did not structure, in a few words with where:
    ``Position.line should be in range [0:2147483647], but was -1 at params.position``."""
    if isinstance(exc, BaseValidationError):
        problems = transform_error(exc, path="$", format_exception=_format)
    else:
        problems = [f"{type(exc).__name__}: {exc} @ $"]
    out = []
    for p in problems[:3]:
        what, _, where = p.rpartition(" @ ")
        where = _camel(where).removeprefix("$").removeprefix(".")
        out.append(f"{what} at {where}" if where else what)
    more = len(problems) - len(out)
    return "; ".join(out) + (f" (and {more} more)" if more > 0 else "")


def _json_reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at character {exc.pos}"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 at byte {exc.start}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc) or type(exc).__name__


def _json_kind(value: object) -> str:
    if value is None:
        return "null (or missing)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


def _is_request_type(message_type: type | None) -> bool | None:
    """Whether the LSP type of a method is a request's (has an id); None when unknown."""
    if message_type is None or not attrs.has(message_type):
        return None
    return "id" in attrs.fields_dict(message_type)


class StrictProtocol(LanguageServerProtocol):
    """Answers every request, also the malformed ones (see the module docs)."""

    _output_lost = False

    def _send_data(self, data: Any) -> None:
        """Send one message; once the client's end is gone (a write fails: the client
        exited, or asked the server to exit while it was busy), send nothing more. pygls
        would log every later failure with a growing chain of tracebacks and report each
        as a server error, which it then also fails to send."""
        if not data or self._output_lost:
            return
        if self.writer is None:
            log.error("no transport to send a message on")
            return
        try:
            body = json.dumps(data, default=self._serialize_message)
            header = (
                f"Content-Length: {len(body.encode(self.CHARSET))}\r\n"
                f"Content-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n"
            )
            payload = (header + body if self._include_headers else body).encode(self.CHARSET)
            res = self.writer.write(payload)
            if inspect.isawaitable(res):
                task = asyncio.ensure_future(res)
                _pending_writes.add(task)
                task.add_done_callback(_pending_writes.discard)
        except (OSError, ValueError) as exc:  # closed pipe or closed file
            self._output_lost = True
            log.warning("the client's end is gone (%s): no more messages are sent", exc)

    def answer_error(self, msg_id: int | str | None, code: int, message: str) -> None:
        """Send an error response (``"id": null`` when the id is not known)."""
        self._send_data(
            {"jsonrpc": "2.0", "id": msg_id, "error": {"code": int(code), "message": message}}
        )

    def receive(self, body: bytes) -> None:
        """One message body from the client: decode, check, structure, dispatch."""
        try:
            data = json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError) as exc:
            self.answer_error(
                None, ErrorCodes.ParseError, f"The message is not valid JSON ({_json_reason(exc)})."
            )
            return
        if not isinstance(data, dict):
            self.answer_error(
                None,
                ErrorCodes.InvalidRequest,
                "A message must be a JSON object (LSP sends no batches).",
            )
            return
        raw_id = data.get("id")
        id_ok = isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool)
        msg_id: int | str | None = raw_id if id_ok else None
        method = data.get("method")
        has_id, has_method = "id" in data, "method" in data
        problem = None
        if data.get("jsonrpc") != "2.0":
            problem = 'its "jsonrpc" member is not "2.0"'
        elif has_id and not id_ok:
            problem = 'its "id" is neither a string nor an integer'
        elif has_method and not isinstance(method, str):
            problem = 'its "method" is not a string'
        elif not has_method and not has_id:
            problem = 'it has neither a "method" nor an "id"'
        elif not has_method and "result" not in data and "error" not in data:
            problem = 'a response needs a "result" or an "error"'
        if problem is not None:
            if not has_method and has_id:  # a broken response: nobody to answer
                log.warning("ignored a response from the client: %s", problem)
                self._fail_own_request(msg_id, problem)
                return
            self.answer_error(msg_id, ErrorCodes.InvalidRequest, f"Invalid message: {problem}.")
            return
        if not isinstance(method, str):
            self._receive_response(data, msg_id)
            return
        message_type = self.get_message_type(method)
        is_request = _is_request_type(message_type)
        if has_id and is_request is False:
            self.answer_error(
                msg_id,
                ErrorCodes.InvalidRequest,
                f"{method} is a notification: send it without an id.",
            )
            return
        if not has_id and is_request is True:
            log.warning("ignored %s: it is a request and came without an id", method)
            return
        target: type = message_type or (JsonRPCRequestMessage if has_id else JsonRPCNotification)
        if message_type is None and "params" not in data:
            data["params"] = None  # JSON-RPC lets params out; pygls' generic types need it
        try:
            message: Any = self._converter.structure(data, target)
        except Exception as exc:
            params = data.get("params")
            if message_type is not None and not isinstance(params, (dict, list)):
                detail = f"params must be a JSON object, not {_json_kind(params)}"
            else:
                detail = describe_invalid(exc)
            if has_id:
                self.answer_error(
                    msg_id, ErrorCodes.InvalidParams, f"Invalid params for {method}: {detail}."
                )
            else:
                log.warning("ignored %s: invalid params: %s", method, detail)
            return
        self.handle_message(message)

    def _receive_response(self, data: dict[str, Any], msg_id: int | str | None) -> None:
        """A response to one of the server's own requests."""
        try:
            message = self.structure_message(data)
        except Exception as exc:
            detail = describe_invalid(exc.__cause__ or exc)
            log.warning("ignored a response from the client: %s", detail)
            self._fail_own_request(msg_id, detail)
            return
        self.handle_message(message)

    def _fail_own_request(self, msg_id: int | str | None, problem: str) -> None:
        """The client answered one of the server's requests with something unreadable:
        that request fails instead of waiting for ever."""
        future = self._request_futures.pop(msg_id, None) if msg_id is not None else None
        if future is not None and not future.done():
            future.set_exception(JsonRpcInternalError(f"unreadable response: {problem}"))

    def handle_message(self, message: RPCMessage) -> None:
        """pygls drops requests after ``shutdown`` without an answer; they get one."""
        if (
            self._shutdown
            and isinstance(message, RPCRequest)
            and getattr(message, "method", "") != EXIT
        ):
            self.answer_error(
                message.id,
                ErrorCodes.InvalidRequest,
                "The server is shutting down: it answers no more requests.",
            )
            return
        super().handle_message(message)
