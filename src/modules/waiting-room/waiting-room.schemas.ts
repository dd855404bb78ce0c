import { Type } from 'typebox';

const Nullable = <T extends ReturnType<typeof Type.Integer>>(schema: T) => Type.Union([schema, Type.Null()]);

export const TicketStatus = Type.Object(
  {
    state: Type.Union([Type.Literal('waiting'), Type.Literal('admitted'), Type.Literal('sold_out'), Type.Literal('expired'), Type.Literal('closed'), Type.Literal('used')], {
      description:
        'expired: the pass ran out unused, or the ticket is no longer in line (with replacedBy: merged into the shopper\'s other ticket, which holds the place); closed: the line is gone (the sale ended, or its waiting room was switched off or the sale deleted); used: the ticket\'s pass bought an order (on any instance, device or tab): no pass, nothing left to poll for, and the event stream ends (a pass given back by a refused order reads admitted again)',
    }),
    position: Nullable(Type.Integer({ description: 'Place in line (1 = next); null before the start (the pre-queue is shuffled at the start), while sold out, and out of line' })),
    etaSeconds: Nullable(Type.Integer({ description: 'Seconds to admission at the current rate; before the start, seconds to the start plus the time to admit the whole pre-queue (the latest a drawn place may be admitted)' })),
    pass: Type.Optional(Type.String({ description: 'Admission pass: send it as the Waiting-Room-Pass header when checking out' })),
    passExpiresAt: Type.Optional(Type.String({ format: 'date-time' })),
    admittedAt: Type.Optional(Type.String({ format: 'date-time' })),
    paused: Type.Optional(
      Type.Literal(true, {
        description: 'Present while the shop holds admission: state stays waiting, the place is kept, etaSeconds is null; admission resumes in order',
      }),
    ),
    replacedBy: Type.Optional(
      Type.String({
        description:
          "With state expired, to the shopper's own devices (the holders bound to it) only: this ticket was merged into the shopper's other ticket (a guest ticket and an account ticket, on signing in), and this signed ticket holds the place. Follow it (GET …/queue/{replacedBy}) instead of telling the shopper the place is lost.",
      }),
    ),
    saleEndsAt: Type.Optional(
      Type.String({
        format: 'date-time',
        description: "With admitted, and closed by the sale's end: when the sale ends (moved by an early end or an extension, which the admitted's stream carries)",
      }),
    ),
    soldOut: Type.Optional(
      Type.Literal(true, { description: 'With admitted: everything in the sale is taken now; the pass still buys if units come back before it expires' }),
    ),
    canRejoin: Type.Optional(
      Type.Literal(true, {
        description:
          'With expired: joining again (POST …/queue) gives the ticket\'s holders a new ticket at the back of the line (the pass expired without buying an order). Absent, a join answers the same expired ticket (the pass bought an order, or the ticket is out of line)',
      }),
    ),
    now: Type.Optional(
      Type.Integer({
        description:
          "The room's clock (Redis's, the one passes expire on) when this status was read, ms since the epoch: a client counting a pass down corrects its own clock by it. In the JSON replies and the stream's status frames (an admitted ticket's sell-out frame too), not the waiting visitors' sell-out frame, the same for every visitor",
      }),
    ),
    pollAfterSeconds: Type.Optional(
      Type.Integer({
        description:
          'While waiting or sold out, in the JSON replies (not the event stream): when a client that polls should ask again (a quarter of the wait, 2 to 30 s; 15 while sold out)',
      }),
    ),
  },
  { $id: 'TicketStatus' },
);

export const Ticket = Type.Object(
  {
    ticket: Type.String({ description: 'Signed ticket: the key of GET …/queue/:ticket' }),
    ...TicketStatus.properties,
  },
  { $id: 'Ticket' },
);

export const QueueParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }, { additionalProperties: false });
export const TicketParams = Type.Object(
  { id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), ticket: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

export const WaitingRoomInfo = Type.Object({
  saleEventId: Type.Integer(),
  name: Type.String(),
  startsAt: Type.String({ format: 'date-time' }),
  endsAt: Type.String({ format: 'date-time' }),
  productIds: Type.Array(Type.Integer()),
  admissionPerSecond: Type.Number({ description: 'The rate in force: configured, or derived from live instances × capacity' }),
  paused: Type.Boolean({ description: 'The shop holds admission: nobody is let in until it resumes; the line keeps its order and takes newcomers' }),
  waiting: Type.Integer(),
  soldOut: Type.Boolean(),
  now: Type.Integer({ description: "The room's clock (Redis's) when this was read, ms since the epoch" }),
});
