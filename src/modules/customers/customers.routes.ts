import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { errorResponses } from '../../web/http/schemas.ts';
import { LoginBody, RegisterBody } from './customers.schemas.ts';
import type { CustomerService } from './customers.service.ts';
import { clearSessionCookie, requireCustomer, setSessionCookie } from './session-plugin.ts';

export interface CustomerRoutesOptions {
  secureCookies: boolean;
  sessionTtlS: number;
  /**
   * Runs after a registration or sign-in succeeded (e.g. the visitor's guest cart joins the account's).
   * Its failure is logged, never fails the sign-in.
   */
  afterSignIn?: (request: FastifyRequest, reply: FastifyReply, customerId: number) => Promise<void>;
}

/** Registration, sign-in/out and the signed-in customer. */
export function customerRoutes(customers: CustomerService, options: CustomerRoutesOptions): FastifyPluginAsyncTypebox {
  const cookie = { secure: options.secureCookies, ttlS: options.sessionTtlS };
  const signedIn = async (request: FastifyRequest, reply: FastifyReply, customerId: number) => {
    await options.afterSignIn?.(request, reply, customerId).catch((error: unknown) => request.log.warn({ err: error }, 'after-sign-in step failed'));
  };
  return async (app) => {
    const tags = ['customers'];
    app.post(
      '/customers',
      { schema: { tags, body: RegisterBody, response: { 201: Type.Ref('Customer'), ...errorResponses(400, 409, 429) } } },
      async (request, reply) => {
        const { customer, sessionId } = await customers.register(request.body);
        setSessionCookie(reply, sessionId, cookie);
        await signedIn(request, reply, customer.id);
        return reply.code(201).send(customer);
      },
    );
    app.post(
      '/sessions',
      {
        // Failed sign-ins count against the stricter `login` limit per address; the service adds one per account.
        config: { rateLimit: { limiters: ['login'] } },
        schema: { tags, body: LoginBody, response: { 200: Type.Object({ customer: Type.Ref('Customer') }), ...errorResponses(400, 401, 429, 503) } },
      },
      async (request, reply) => {
        const { customer, sessionId } = await customers.login(request.body, request.sessionCookie);
        setSessionCookie(reply, sessionId, cookie);
        await signedIn(request, reply, customer.id);
        return { customer };
      },
    );
    app.delete('/sessions', { schema: { tags, response: { 204: Type.Null() } } }, async (request, reply) => {
      await customers.logout(request.sessionCookie);
      clearSessionCookie(reply, cookie);
      return reply.code(204).send(null);
    });
    app.get('/me', { schema: { tags, response: { 200: Type.Ref('Customer'), ...errorResponses(401) } } }, (request) => customers.me(requireCustomer(request)));
  };
}
