import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { errorResponses } from '../../web/http/schemas.ts';
import type { CartMerge } from '../cart/index.ts';
import { Customer, LoginBody, RegisterBody } from './customers.schemas.ts';
import type { CustomerService } from './customers.service.ts';
import { clearSessionCookie, requireCustomer, SESSION_COOKIE, setSessionCookie } from './session-plugin.ts';

export interface CustomerRoutesOptions {
  secureCookies: boolean;
  sessionTtlS: number;
  /**
   * Runs after a registration or sign-in succeeded (the visitor's guest cart joins the account's); what
   * it returns is the reply's `cartMerge`. Its failure is logged, never fails the sign-in.
   */
  afterSignIn?: (request: FastifyRequest, reply: FastifyReply, customerId: number) => Promise<CartMerge | undefined>;
}

/** The new customer, and what became of the visitor's guest cart (`cartMerge`, see the sign-in). */
const Registration = Type.Object({ ...Customer.properties, cartMerge: Type.Optional(Type.Ref('CartMerge')) });

/** Registration, sign-in/out and the signed-in customer. */
export function customerRoutes(customers: CustomerService, options: CustomerRoutesOptions): FastifyPluginAsyncTypebox {
  const cookie = { secure: options.secureCookies, ttlS: options.sessionTtlS };
  const signedIn = async (request: FastifyRequest, reply: FastifyReply, customerId: number): Promise<{ cartMerge?: CartMerge }> => {
    const cartMerge = await options.afterSignIn?.(request, reply, customerId).catch((error: unknown) => {
      request.log.warn({ err: error }, 'after-sign-in step failed');
      return undefined;
    });
    return cartMerge === undefined ? {} : { cartMerge };
  };
  return async (app) => {
    const tags = ['customers'];
    app.post(
      '/customers',
      {
        // EMAIL_TAKEN says whether an email has an account (as Shopify's and Medusa's registration do: a shop
        // cannot sign a new customer in and hide it). Refused registrations count against the `login` limit
        // per address, the same budget as failed sign-ins, so emails cannot be checked in bulk.
        config: { rateLimit: { limiters: ['login'] } },
        schema: { tags, body: RegisterBody, response: { 201: Registration, ...errorResponses(400, 409, 429, 503) } },
      },
      async (request, reply) => {
        const { customer, sessionId } = await customers.register(request.body);
        setSessionCookie(reply, sessionId, cookie);
        return reply.code(201).send({ ...customer, ...(await signedIn(request, reply, customer.id)) });
      },
    );
    app.post(
      '/sessions',
      {
        // Failed sign-ins count against the stricter `login` limit per address; the service adds one per account.
        config: { rateLimit: { limiters: ['login'] } },
        schema: { tags, body: LoginBody, response: { 200: Type.Object({ customer: Type.Ref('Customer'), cartMerge: Type.Optional(Type.Ref('CartMerge')) }), ...errorResponses(400, 401, 429, 503) } },
      },
      async (request, reply) => {
        const { customer, sessionId } = await customers.login(request.body, request.sessionCookie);
        setSessionCookie(reply, sessionId, cookie);
        return { customer, ...(await signedIn(request, reply, customer.id)) };
      },
    );
    app.delete('/sessions', { schema: { tags, response: { 204: Type.Null(), ...errorResponses(503) } } }, async (request, reply) => {
      // The cookie as sent, not only when the session plugin could read it: with Redis unreachable the request
      // looks anonymous, and answering 204 would clear this browser's cookie but leave the session valid for
      // any copy of it. Ending it fails the same way instead (503, cookie kept, the client retries).
      await customers.logout(request.sessionCookie ?? request.cookies[SESSION_COOKIE]);
      clearSessionCookie(reply, cookie);
      return reply.code(204).send(null);
    });
    app.get('/me', { schema: { tags, response: { 200: Type.Ref('Customer'), ...errorResponses(401) } } }, (request) => customers.me(requireCustomer(request)));
  };
}
