import { Type, type Static } from 'typebox';
import { pageLimit } from '../../lib/page-limit.ts';
import { displayName, SINGLE_LINE } from '../../lib/display-name.ts';
import { MAX_ADMISSION_PER_SECOND, MAX_TRAFFIC_MULTIPLIER, MIN_ADMISSION_PER_SECOND, MIN_TRAFFIC_MULTIPLIER } from './sale-events.limits.ts';

const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
const Multiplier = Type.Number({
  minimum: MIN_TRAFFIC_MULTIPLIER,
  maximum: MAX_TRAFFIC_MULTIPLIER,
  description: `Expected traffic relative to a normal hour (Black Friday: 10), ${MIN_TRAFFIC_MULTIPLIER} to ${MAX_TRAFFIC_MULTIPLIER}; default 1`,
});
const MaxPerCustomer = Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()]);
export { MAX_ADMISSION_PER_SECOND, MIN_ADMISSION_PER_SECOND } from './sale-events.limits.ts';

const waitingRoomBody = (derived: string, absent: string, absentPaused: string) =>
  Type.Object(
    {
      enabled: Type.Boolean({ description: 'Queue buyers and require an admission pass to check out the event\'s products' }),
      admissionPerSecond: Type.Optional(
        Type.Union([Type.Number({ minimum: MIN_ADMISSION_PER_SECOND, maximum: MAX_ADMISSION_PER_SECOND }), Type.Null()], {
          description: `Visitors admitted per second (${MIN_ADMISSION_PER_SECOND} to ${MAX_ADMISSION_PER_SECOND}); ${derived}: live web instances × measured capacity × safety factor${absent}`,
        }),
      ),
      paused: Type.Optional(
        Type.Boolean({
          description: `Hold admission (a payment provider down at the peak): nobody new is let in, everyone keeps their place, newcomers still join, passes given stay good until they expire; false resumes at the rate, in order${absentPaused}`,
        }),
      ),
    },
    { additionalProperties: false },
  );
const CreateWaitingRoomBody = waitingRoomBody('absent or null', '', '; absent: false');
/** A PATCH changes only what it names: a room switched off and on again without a rate keeps its rate. */
const UpdateWaitingRoomBody = waitingRoomBody('null', '; absent: unchanged (a room switched off and on keeps its rate)', '; absent: unchanged');

export const SaleEvent = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    startsAt: Type.String({ format: 'date-time' }),
    endsAt: Type.String({ format: 'date-time' }),
    trafficMultiplier: Type.Number(),
    maxPerCustomer: Type.Union([Type.Integer(), Type.Null()]),
    productIds: Type.Array(Type.Integer()),
    waitingRoom: Type.Object({ enabled: Type.Boolean(), admissionPerSecond: Type.Union([Type.Number(), Type.Null()]), paused: Type.Boolean() }),
  },
  { $id: 'SaleEvent' },
);
export type SaleEvent = Static<typeof SaleEvent>;

export const SaleEventList = Type.Object({
  items: Type.Array(Type.Ref('SaleEvent')),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last page' }),
});

export const CreateSaleEventBody = Type.Object(
  {
    name: displayName(200, { singleLine: true, description: SINGLE_LINE }),
    startsAt: Type.String({ format: 'date-time' }),
    endsAt: Type.String({ format: 'date-time' }),
    trafficMultiplier: Type.Optional(Multiplier),
    maxPerCustomer: Type.Optional(MaxPerCustomer),
    productIds: Type.Optional(Type.Array(Id, { maxItems: 10_000, uniqueItems: true })),
    waitingRoom: Type.Optional(CreateWaitingRoomBody),
  },
  { additionalProperties: false },
);
export type CreateSaleEventBody = Static<typeof CreateSaleEventBody>;

export const UpdateSaleEventBody = Type.Object(
  {
    name: Type.Optional(displayName(200, { description: SINGLE_LINE })),
    startsAt: Type.Optional(Type.String({ format: 'date-time' })),
    endsAt: Type.Optional(Type.String({ format: 'date-time' })),
    trafficMultiplier: Type.Optional(Multiplier),
    maxPerCustomer: Type.Optional(MaxPerCustomer),
    productIds: Type.Optional(Type.Array(Id, { maxItems: 10_000, uniqueItems: true })),
    waitingRoom: Type.Optional(UpdateWaitingRoomBody),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateSaleEventBody = Static<typeof UpdateSaleEventBody>;

export const SaleEventListQuery = Type.Object(
  {
    activeAt: Type.Optional(Type.String({ format: 'date-time', description: 'Only events live at this instant' })),
    limit: pageLimit(),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
