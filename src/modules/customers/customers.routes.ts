import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../../shared/errors.ts';
import { errorResponses } from '../../platform/http/schemas.ts';
import type { CartMerge } from '../cart/http.ts';
import { Customer, LoginBody, RegisterBody } from './customers.schemas.ts';
import type { DeviceCookies } from './device-cookie.ts';
import type { AccountDigest } from './account-digest.ts';
import type { CustomerService } from './customers.service.ts';
import { clearSessionCookie, getSessionCookie, requireCustomer, setSessionCookie } from './session-plugin.ts';

export interface CustomerRoutesOptions {
  secureCookies: boolean;
  sessionTtlS: number;
  /** Issued at every registration and sign-in, read at sign-in: whose lockout budget an attempt counts against. */
  devices: DeviceCookies;
  /** How security events name the account (as the per-account login limit does). */
  accountDigest: AccountDigest;
  /**
   * Runs after a registration or sign-in succeeded (the visitor's guest cart joins the account's); what
   * it returns is the reply's `cartMerge`. Its failure is logged, never fails the sign-in.
   */
  afterSignIn?: (request: FastifyRequest, reply: FastifyReply, customerId: number) => Promise<CartMerge | undefined>;
  /**
   * Runs after a sign-out ended the session (the waiting room gives the browser a new visitor cookie, so the next
   * person at a shared computer does not hold the signed-out shopper's tickets and passes). Not after a refused one.
   */
  afterSignOut?: (request: FastifyRequest, reply: FastifyReply) => void;
}

/** The new customer, and what became of the visitor's guest cart (`cartMerge`, see the sign-in). */
const Registration = Type.Object({ ...Customer.properties, cartMerge: Type.Optional(Type.Ref('CartMerge')) });

/**
 * Runs a registration or sign-in and logs it as a security event (OWASP ASVS 16.3.1: every authentication attempt,
 * refused or not): `outcome` is OK or the refusal's code, with the client address and the account as a digest of
 * its email (the same for every letter case), and for a sign-in whether it came from a trusted device (a valid device
 * cookie for the account: `trustedDevice`). Never the email, nor the password. An outage's error is logged by the
 * error handler instead.
 */
async function audited<T extends { customer: Customer }>(
  request: FastifyRequest,
  event: 'registration' | 'sign-in',
  account: string,
  attempt: () => Promise<T>,
  extra: { trustedDevice?: boolean } = {},
): Promise<T> {
  const security = { event, client: request.ip, account, ...extra };
  try {
    const result = await attempt();
    request.log.info({ security: { ...security, outcome: 'OK', customerId: result.customer.id } }, 'security event');
    return result;
  } catch (error) {
    if (error instanceof DomainError) request.log.info({ security: { ...security, outcome: error.code } }, 'security event');
    throw error;
  }
}

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
        // per address, the same budget as failed sign-ins, so emails cannot be checked in bulk. Accounts made count
        // against `signup` per address (signed in or not): each one is a `customer` rate-limit budget of its own.
        config: { rateLimit: { limiters: ['login', 'signup'] } },
        schema: { tags, body: RegisterBody, response: { 201: Registration, ...errorResponses(400, 409, 422, 429, 503) } },
      },
      async (request, reply) => {
        const { customer, sessionId } = await audited(request, 'registration', options.accountDigest(request.body.email), () => customers.register(request.body, request.sessionCookie));
        setSessionCookie(reply, sessionId, cookie);
        options.devices.issue(reply, customer.email);
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
        const device = options.devices.read(request, request.body.email);
        const { customer, sessionId } = await audited(request, 'sign-in', options.accountDigest(request.body.email), () => customers.login(request.body, request.sessionCookie, device), {
          trustedDevice: device !== undefined,
        });
        setSessionCookie(reply, sessionId, cookie);
        options.devices.issue(reply, customer.email);
        return { customer, ...(await signedIn(request, reply, customer.id)) };
      },
    );
    app.delete('/sessions', { schema: { tags, response: { 204: Type.Null(), ...errorResponses(503) } } }, async (request, reply) => {
      // The cookie as sent, not only when the session plugin could read it: with Redis unreachable the request
      // looks anonymous, and answering 204 would clear this browser's cookie but leave the session valid for
      // any copy of it. Ending it fails the same way instead (503, cookie kept, the client retries).
      await customers.logout(request.sessionCookie ?? getSessionCookie(request, options.secureCookies));
      clearSessionCookie(reply, cookie);
      options.afterSignOut?.(request, reply);
      return reply.code(204).send(null);
    });
    app.get('/me', { schema: { tags, response: { 200: Type.Ref('Customer'), ...errorResponses(401, 503) } } }, (request) => customers.me(requireCustomer(request)));
  };
}
