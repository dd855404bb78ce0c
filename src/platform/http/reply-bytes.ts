import type { FastifyReply } from 'fastify';

/**
 * Replies with a JSON body serialized by the route's own response schema, reusing the bytes of an
 * earlier reply with the very same object. Cached reads hand out shared, unchanged objects (the local
 * cache's frozen values, a listing page whose live figures did not move), so a hot page is serialized
 * and encoded once instead of on every request. Create one per route: the bytes depend on its schema.
 */
export function createReplyBytes(): (reply: FastifyReply, body: object) => FastifyReply {
  const bytes = new WeakMap<object, Buffer>();
  return (reply, body) => {
    let encoded = bytes.get(body);
    if (encoded === undefined) {
      encoded = Buffer.from(reply.serialize(body) as string);
      bytes.set(body, encoded);
    }
    return reply.type('application/json; charset=utf-8').send(encoded);
  };
}
