"""Our handlers of grpc.aio methods: every request read as a stream of bytes, decoded by us.

A unary request read by grpc.aio itself was decoded before the caller was authenticated, and a
call that ended before its message was whole was never answered: the unary handler returned
without a word and the call stayed open, uncounted, until the client gave up (probe AD: 1,000 a
connection, with any key; a health check needed none). Read as a stream, its message is ours to
wait for, and a call without one is refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.message import DecodeError, Message

from consentd.domain.errors import InvalidInput

NO_MESSAGE = (
    "the call ended without a whole message: a unary call sends exactly one, then ends its stream"
)

Context = grpc.aio.ServicerContext[Any, Any]
if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]

# The handler of each kind: its requests as a stream of bytes (a unary one reads its message
# itself, read_one).
STREAMED_KINDS: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("unary_unary", grpc.stream_unary_rpc_method_handler),
    ("unary_stream", grpc.stream_stream_rpc_method_handler),
    ("stream_unary", grpc.stream_unary_rpc_method_handler),
    ("stream_stream", grpc.stream_stream_rpc_method_handler),
)


def request_type(handler: Handler) -> type[Message]:
    """The request message class of a generated handler (its deserializer is FromString)."""
    deserializer: Any = handler.request_deserializer
    owner = getattr(deserializer, "__self__", None)
    if not isinstance(owner, type) or not issubclass(owner, Message):
        raise RuntimeError("a handler whose requests are not protobuf messages")
    return owner


# How long a unary call's message may take to arrive whole (the browser port waits as long for
# a body): a call that opened and sent nothing was held until the client gave up (probe AF).
READ_SECONDS = 30.0
MORE_THAN_ONE = "a unary call sends exactly one message; this one sent more"
TOO_SLOW = f"the call's message and the end of its stream did not arrive within {READ_SECONDS:g} s"


async def read_one(requests: AsyncIterator[bytes]) -> bytes:
    """The one message of a unary request read as a stream. Raises InvalidInput when the call
    ends without a whole message, sends a second one (it was dropped: a write lost without a
    word; probe AF), or takes more than READ_SECONDS to send it."""
    try:
        async with asyncio.timeout(READ_SECONDS):
            first = await anext(requests, None)
            if first is None:
                raise InvalidInput("request", NO_MESSAGE)
            if await anext(requests, None) is not None:
                raise InvalidInput("request", MORE_THAN_ONE)
    except TimeoutError:
        raise InvalidInput("request", TOO_SLOW) from None
    return first


def read_once(handler: Handler) -> Handler:
    """An open service's method (health, reflection) as grpc.aio runs it, but a unary request
    read as a stream: a health check that ended without its message was never answered, and
    needed no key. A streamed request's messages (reflection) are decoded one by one: one that
    does not decode is INVALID_ARGUMENT (it was UNKNOWN with the parser's words and a traceback
    in the log, for anyone; probe BK)."""
    deserialize: Any = handler.request_deserializer
    if handler.request_streaming:
        return remade(handler, lambda kind, behaviour: _decoding(deserialize, kind, behaviour))

    async def message(requests: AsyncIterator[bytes], context: Context) -> Any:
        try:
            return deserialize(await read_one(requests))
        except InvalidInput as refused:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, refused.message)
        except DecodeError:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "request: is not valid protobuf")

    def wrap(kind: str, behaviour: Any) -> Any:
        if kind == "unary_stream":

            async def stream(requests: AsyncIterator[bytes], context: Context) -> Any:
                async for response in behaviour(await message(requests, context), context):
                    yield response

            return stream

        async def answer(requests: AsyncIterator[bytes], context: Context) -> Any:
            return await behaviour(await message(requests, context), context)

        return answer

    return remade(handler, wrap)


async def _decoded(
    deserialize: Any, requests: AsyncIterator[bytes], context: Context
) -> AsyncIterator[Any]:
    async for raw in requests:
        try:
            message = deserialize(raw)
        except DecodeError:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "request: is not valid protobuf")
        yield message


def _decoding(deserialize: Any, kind: str, behaviour: Any) -> Any:
    """A request-streaming `behaviour` given its requests decoded (_decoded)."""
    if kind == "stream_stream":

        async def stream(requests: AsyncIterator[bytes], context: Context) -> Any:
            async for response in behaviour(_decoded(deserialize, requests, context), context):
                yield response

        return stream

    async def answer(requests: AsyncIterator[bytes], context: Context) -> Any:
        return await behaviour(_decoded(deserialize, requests, context), context)

    return answer


def remade(
    handler: Handler,
    behaviour_of: Callable[[str, Any], Any],
) -> Handler:
    """A handler running `behaviour_of(kind, its behaviour)`, `kind` being `handler`'s, its
    requests a stream of bytes (STREAMED_KINDS; no deserializer): decoded after the caller is
    admitted, so no unauthenticated byte reaches the protobuf parser."""
    for kind, make in STREAMED_KINDS:
        behaviour = getattr(handler, kind)
        if behaviour is not None:
            made: Handler = make(
                behaviour_of(kind, behaviour),
                request_deserializer=None,
                response_serializer=handler.response_serializer,
            )
            return made
    raise RuntimeError("a handler of no known kind")
