import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Database } from '../../platform/db/client.ts';
import { ProviderCallRefusedError, type PaymentEvent, type PaymentProvider } from './payment-provider.ts';
import { UnknownPaymentTokenError, WebhookMalformedError, WebhookSignatureInvalidError } from './payments.errors.ts';
import { testProviderOperations } from './payments.tables.ts';

export const TEST_SIGNATURE_HEADER = 'salescale-test-signature';
/** Signatures older than this are refused (replay protection, as Stripe's default tolerance). */
const TOLERANCE_S = 300;

/** The test provider's refusal code for a capture, or a webhook's authorization, of a payment its ledger never authorized. */
export const NO_AUTHORIZATION = 'no_authorization';

const KIND_OF_TYPE: Record<string, PaymentEvent['kind']> = {
  'payment.authorized': 'authorized',
  'payment.captured': 'captured',
  'payment.failed': 'failed',
  'payment.voided': 'voided',
  // `amountCents`: the amount refunded so far, as Stripe's charge.refunded (less than the payment: a partial refund).
  'payment.refunded': 'refunded',
  // A chargeback, then its close; `amountCents`: the disputed amount.
  'payment.disputed': 'disputed',
  'payment.dispute_won': 'dispute_won',
  'payment.dispute_lost': 'dispute_lost',
};

/** The test provider's webhook signing key, derived from SESSION_SECRET (no extra secret to configure). */
export function testWebhookSecret(sessionSecret: string): string {
  return createHash('sha256').update(`salescale-test-payments:${sessionSecret}`).digest('hex');
}

const hash = (value: string) => createHash('sha256').update(value).digest('hex').slice(0, 24);

/**
 * The built-in `test` provider: `tok_ok` is approved, `tok_declined` is declined. It keeps the ledger a
 * real provider keeps on its side (`test_provider_operations`: one row per idempotency key), so tests
 * can check that every paid order was captured exactly once and no expired one was. Its webhooks are
 * signed like Stripe's (`t=…,v1=HMAC-SHA256(secret, "t.body")`). Never used in production.
 */
export function createTestProvider(deps: { db: Database; webhookSecret: string }): PaymentProvider & { signWebhook(body: string, timestampS?: number): string } {
  const db = () => deps.db.primary;

  function sign(timestampS: number, body: string): string {
    return createHmac('sha256', deps.webhookSecret).update(`${timestampS}.${body}`).digest('hex');
  }

  async function record(idempotencyKey: string, intentId: string, kind: string, amountCents: number): Promise<void> {
    await db().insert(testProviderOperations).values({ idempotencyKey, intentId, kind, amountCents }).onConflictDoNothing();
  }

  /** Whether the ledger holds an operation of `kind` on the intent. */
  async function holdsOperation(intentId: string, kind: 'authorize' | 'capture'): Promise<boolean> {
    const rows = await db().select({ kind: testProviderOperations.kind }).from(testProviderOperations).where(eq(testProviderOperations.intentId, intentId));
    return rows.some((row) => row.kind === kind);
  }
  const holdsAuthorization = (intentId: string) => holdsOperation(intentId, 'authorize');

  /** A capture of nothing is the provider refusing it for good (as Stripe's `payment_intent_unexpected_state`), not a crash. */
  async function requireAuthorized(intentId: string): Promise<void> {
    if (!(await holdsAuthorization(intentId))) throw new ProviderCallRefusedError(`test provider: no authorization ${intentId}`, { permanent: true, code: NO_AUTHORIZATION });
  }

  const intentIdOf = (orderId: number, idempotencyKey: string) => `tpi_${orderId}_${hash(idempotencyKey)}`;

  return {
    name: 'test',

    async createIntent(input) {
      return { intentId: intentIdOf(input.orderId, input.idempotencyKey) };
    },

    async authorizeWithToken(input) {
      const intentId = intentIdOf(input.orderId, input.idempotencyKey);
      const base = { provider: 'test' as const, intentId, orderId: input.orderId, amountCents: input.amountCents, currency: input.currency };
      if (input.token === 'tok_ok') {
        await record(`${input.idempotencyKey}:authorize`, intentId, 'authorize', input.amountCents);
        return { ...base, id: `evt_test_${hash(`${intentId}:authorized`)}`, type: 'payment.authorized', kind: 'authorized' };
      }
      if (input.token === 'tok_declined') {
        return { ...base, id: `evt_test_${hash(`${intentId}:failed:${randomUUID()}`)}`, type: 'payment.failed', kind: 'failed', failureCode: 'card_declined' };
      }
      throw new UnknownPaymentTokenError(input.token);
    },

    tokenIntentId: intentIdOf,

    holds(intentId, state) {
      return holdsOperation(intentId, state === 'captured' ? 'capture' : 'authorize');
    },

    async capture(input) {
      // Recorded only if authorized, in one statement; nothing recorded (a retry's key already is, or no authorization):
      // the authorization is checked, so that a retry passes and a capture of nothing throws, as before.
      const captured = await db().execute(sql`
        insert into ${testProviderOperations} (idempotency_key, intent_id, kind, amount_cents)
        select ${input.idempotencyKey}, ${input.intentId}, 'capture', ${input.amountCents}
        where exists (select 1 from ${testProviderOperations} a where a.intent_id = ${input.intentId} and a.kind = 'authorize')
        on conflict do nothing`);
      if (captured.rowCount === 0) await requireAuthorized(input.intentId);
    },

    async void(input) {
      await record(input.idempotencyKey, input.intentId, 'void', input.amountCents);
    },

    async refund(input) {
      await record(input.idempotencyKey, input.intentId, 'refund', input.part?.amountCents ?? input.amountCents);
    },

    parseWebhook(rawBody, headers) {
      const header = headers[TEST_SIGNATURE_HEADER];
      if (typeof header !== 'string') throw new WebhookSignatureInvalidError(`missing ${TEST_SIGNATURE_HEADER} header`);
      // Stripe's scheme: one `t`, and one `v1` per signing secret in use (several during a rotation); any one that matches verifies.
      const parts = header.split(',').map((part) => {
        const at = part.indexOf('=');
        return at < 0 ? [part, ''] : [part.slice(0, at), part.slice(at + 1)];
      });
      const t = Number(parts.find(([key]) => key === 't')?.[1]);
      const signatures = parts.filter(([key]) => key === 'v1').map(([, value]) => Buffer.from(value ?? ''));
      if (!Number.isSafeInteger(t) || signatures.length === 0) throw new WebhookSignatureInvalidError('expected t=<seconds>,v1=<hex>');
      if (Math.abs(Date.now() / 1000 - t) > TOLERANCE_S) throw new WebhookSignatureInvalidError('timestamp outside the tolerance');
      const expected = Buffer.from(sign(t, rawBody.toString('utf8')));
      if (!signatures.some((given) => expected.length === given.length && timingSafeEqual(expected, given))) throw new WebhookSignatureInvalidError('signature mismatch');
      let body: { id?: unknown; type?: unknown; data?: Record<string, unknown> } | null;
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch {
        throw new WebhookMalformedError('not JSON');
      }
      // JSON that is not an object (`null`, a string, a number) is no event either.
      if (typeof body !== 'object' || body === null || typeof body.id !== 'string' || typeof body.type !== 'string' || typeof body.data !== 'object' || body.data === null) {
        throw new WebhookMalformedError('expected { id, type, data }');
      }
      const d = body.data;
      return {
        id: body.id,
        provider: 'test',
        type: body.type,
        kind: KIND_OF_TYPE[body.type] ?? 'ignored',
        intentId: typeof d.intentId === 'string' ? d.intentId : undefined,
        orderId: Number.isSafeInteger(d.orderId) ? (d.orderId as number) : undefined,
        amountCents: amountOf(d.amountCents),
        currency: currencyOf(d.currency),
        failureCode: typeof d.failureCode === 'string' ? d.failureCode : undefined,
      };
    },

    signWebhook(body, timestampS = Math.floor(Date.now() / 1000)) {
      return `t=${timestampS},v1=${sign(timestampS, body)}`;
    },
  };
}

/**
 * A signed event's amount: absent, or a whole, non-negative number of minor units. Anything else (a negative, a fraction,
 * a string) is a malformed event (400), never taken as no amount (the order total assumed) nor recorded as a payment.
 */
function amountOf(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw new WebhookMalformedError('amountCents is not a whole, non-negative number of minor units');
  return value as number;
}

/** A signed event's currency: absent, or a three-letter code (ISO 4217's shape); any other text is a malformed event. */
function currencyOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !/^[A-Za-z]{3}$/.test(value)) throw new WebhookMalformedError('currency is not a three-letter code');
  return value;
}
