import { Type, type Static } from 'typebox';
import { displayName } from '../../lib/display-name.ts';

const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
const Multiplier = Type.Number({ exclusiveMinimum: 0, maximum: 1000, description: 'Expected traffic relative to a normal hour (Black Friday: 10)' });
const MaxPerCustomer = Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()]);
/**
 * The slowest a waiting room may admit, in visitors per second: the floor of the derived rate too (see
 * the waiting room's `admissionRate`). Any positive rate was taken: 1e-300 admitted nobody and announced
 * waits of 1e300 seconds.
 */
export const MIN_ADMISSION_PER_SECOND = 1;

const WaitingRoomBody = Type.Object(
  {
    enabled: Type.Boolean({ description: 'Queue buyers and require an admission pass to check out the event\'s products' }),
    admissionPerSecond: Type.Optional(
      Type.Union([Type.Number({ minimum: MIN_ADMISSION_PER_SECOND, maximum: 1_000_000 }), Type.Null()], {
        description: `Visitors admitted per second (at least ${MIN_ADMISSION_PER_SECOND}); absent or null: live web instances × measured capacity × safety factor`,
      }),
    ),
  },
  { additionalProperties: false },
);

export const SaleEvent = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    startsAt: Type.String({ format: 'date-time' }),
    endsAt: Type.String({ format: 'date-time' }),
    trafficMultiplier: Type.Number(),
    maxPerCustomer: Type.Union([Type.Integer(), Type.Null()]),
    productIds: Type.Array(Type.Integer()),
    waitingRoom: Type.Object({ enabled: Type.Boolean(), admissionPerSecond: Type.Union([Type.Number(), Type.Null()]) }),
  },
  { $id: 'SaleEvent' },
);
export type SaleEvent = Static<typeof SaleEvent>;

export const SaleEventList = Type.Object({ items: Type.Array(Type.Ref('SaleEvent')) });

export const CreateSaleEventBody = Type.Object(
  {
    name: displayName(200),
    startsAt: Type.String({ format: 'date-time' }),
    endsAt: Type.String({ format: 'date-time' }),
    trafficMultiplier: Type.Optional(Multiplier),
    maxPerCustomer: Type.Optional(MaxPerCustomer),
    productIds: Type.Optional(Type.Array(Id, { maxItems: 10_000, uniqueItems: true })),
    waitingRoom: Type.Optional(WaitingRoomBody),
  },
  { additionalProperties: false },
);
export type CreateSaleEventBody = Static<typeof CreateSaleEventBody>;

export const UpdateSaleEventBody = Type.Object(
  {
    name: Type.Optional(displayName(200)),
    startsAt: Type.Optional(Type.String({ format: 'date-time' })),
    endsAt: Type.Optional(Type.String({ format: 'date-time' })),
    trafficMultiplier: Type.Optional(Multiplier),
    maxPerCustomer: Type.Optional(MaxPerCustomer),
    productIds: Type.Optional(Type.Array(Id, { maxItems: 10_000, uniqueItems: true })),
    waitingRoom: Type.Optional(WaitingRoomBody),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateSaleEventBody = Static<typeof UpdateSaleEventBody>;

export const SaleEventListQuery = Type.Object(
  { activeAt: Type.Optional(Type.String({ format: 'date-time', description: 'Only events live at this instant' })) },
  { additionalProperties: false },
);
