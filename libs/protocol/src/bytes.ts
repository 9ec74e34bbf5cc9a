// Byte sources as the libs accept them, normalised to one async stream of Uint8Array chunks.

/** Anything that yields bytes: a Node Readable (without encoding), an async or sync iterable, or one buffer. */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Uint8Array;

/** Yields the chunks of `source`; a chunk that is not a Uint8Array is refused with the caller's typed error. */
export async function* bytesOf(source: ByteSource, invalid: (message: string) => Error): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  for await (const chunk of source as AsyncIterable<unknown>) {
    if (!(chunk instanceof Uint8Array))
      throw invalid('source must yield Uint8Array chunks (open streams without an encoding)');
    yield chunk;
  }
}
