"""Our handlers of grpc.aio methods: every request read as a stream of bytes, decoded by us.

A unary request read by grpc.aio itself was decoded before the caller was authenticated, and a
call that ended before its message was whole was never answered: the unary handler returned
without a word and the call stayed open, uncounted, until the client gave up (probe AD: 1,000 a
connection, with any key; a health check needed none). Read as a stream, its message is ours to
wait for, and a call without one is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.message import DecodeError, Message

from consentd.api.validation import NO_MESSAGE

Context = grpc.aio.ServicerContext[Any, Any]
if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]

# The handler of each kind: its requests as a stream of bytes (a unary one reads its message
# itself, first_message).
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


async def first_message(requests: AsyncIterator[bytes]) -> bytes | None:
    """The message of a unary request read as a stream; None when the call ended without one
    (nothing, or a message cut short): decode refuses it once the caller is admitted."""
    async for data in requests:
        return data
    return None


def read_once(handler: Handler) -> Handler:
    """An open service's method (health, reflection) as grpc.aio runs it, but a unary request
    read as a stream: a health check that ended without its message was never answered, and
    needed no key."""
    if handler.request_streaming:
        return handler
    deserialize: Any = handler.request_deserializer

    async def message(requests: AsyncIterator[bytes], context: Context) -> Any:
        data = await first_message(requests)
        if data is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"request: {NO_MESSAGE}")
        try:
            return deserialize(data)
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


def one_then_answer(
    run: Callable[[Any, Context], Awaitable[Any]],
) -> Callable[[AsyncIterator[bytes], Context], Awaitable[Any]]:
    async def answer(requests: AsyncIterator[bytes], context: Context) -> Any:
        return await run(await first_message(requests), context)

    return answer


def one_then_stream(
    run: Callable[[Any, Context], AsyncIterator[Any]],
) -> Callable[[AsyncIterator[bytes], Context], AsyncIterator[Any]]:
    async def stream(requests: AsyncIterator[bytes], context: Context) -> AsyncIterator[Any]:
        async for response in run(await first_message(requests), context):
            yield response

    return stream


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
