import { Type, type Static } from 'typebox';
import { displayName, SINGLE_LINE } from '../../lib/display-name.ts';
import { pageLimit } from '../../lib/page-limit.ts';
import { TOLD_MAX_LENGTH } from '../../platform/http/validation.ts';
import { MAX_STOCK, PRODUCT_NAME_INPUT_MAX, PRODUCT_NAME_MAX } from './catalog.limits.ts';

const Sku = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });
const currency = (description: string) => Type.String({ pattern: '^[A-Z]{3}$', description });
const Currency = currency('ISO 4217 code');
const PriceCents = Type.Integer({ minimum: 0, maximum: 2_000_000_000, description: 'Price in minor units (cents)' });
const Status = Type.Union([Type.Literal('active'), Type.Literal('draft'), Type.Literal('archived')]);
const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

/**
 * A product's name: 1 to `PRODUCT_NAME_MAX` characters counted in NFC, the form it is stored in (the service counts
 * them: 400 VALIDATION_FAILED at /name past it). The schema takes up to `PRODUCT_NAME_INPUT_MAX` as sent, so that a
 * name sent decomposed (NFD), longer as sent than in NFC, is not refused for the code points NFC composes.
 */
const productName = (onUpdate = false) =>
  displayName(PRODUCT_NAME_INPUT_MAX, {
    description: `${PRODUCT_NAME_MAX} characters at most, counted in NFC, the form it is stored in (400 VALIDATION_FAILED past it); ${SINGLE_LINE}`,
    [TOLD_MAX_LENGTH]: PRODUCT_NAME_MAX,
    singleLine: !onUpdate,
  });

const productFields = {
  id: Type.Integer(),
  sku: Type.String(),
  name: Type.String(),
  description: Type.String(),
  priceCents: Type.Integer(),
  currency: Type.String(),
  categoryId: Type.Union([Type.Integer(), Type.Null()]),
  status: Status,
  available: Type.Integer({ minimum: 0 }),
  maxPerCustomer: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'Most units one buyer may hold over their whole life; null for no limit' }),
};

export const Product = Type.Object(productFields, { $id: 'Product' });
export type Product = Static<typeof Product>;

/** The admin's product: the shop's, with what only the stock's keeper needs. */
export const AdminProduct = Type.Object(
  {
    ...productFields,
    heldByUnpaidOrders: Type.Integer({
      minimum: 0,
      description:
        'Units in orders awaiting payment (`pending_payment`, past their payment window too until the expiry sweep gives them back): off `available`, still on the shelf. They come back on sale when such an order expires or is cancelled, and are sold when it is paid. A count taken in the warehouse is `available` + this + the units of paid orders not yet shipped (sold, in neither): to set the stock (PUT /stock) from one, send the count less this and less those',
    }),
  },
  { $id: 'AdminProduct' },
);
export type AdminProduct = Static<typeof AdminProduct>;

const NextCursor = Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last page' });

export const ProductPage = Type.Object({ items: Type.Array(Type.Ref('Product')), nextCursor: NextCursor });

export const AdminProductPage = Type.Object({ items: Type.Array(Type.Ref('AdminProduct')), nextCursor: NextCursor });

export const ListProductsQuery = Type.Object(
  {
    category: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Category slug; includes its subcategories' })),
    currency: Type.Optional(
      currency(
        'ISO 4217 code: only products priced in it. Required with `minPrice` or `maxPrice` while active products are priced in more than one currency (422 CURRENCY_REQUIRED, `details.currencies` listing them). Checked as a product currency is: a code not in use is 422 UNKNOWN_CURRENCY, unless active products are still priced in it',
      ),
    ),
    minPrice: Type.Optional(PriceCents),
    maxPrice: Type.Optional(PriceCents),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Case-insensitive name search; trimmed (the limit holds for the trimmed term), a blank one is no filter' })),
    limit: pageLimit(),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type ListProductsQuery = Static<typeof ListProductsQuery>;

export const AdminListProductsQuery = Type.Object(
  {
    status: Type.Optional(Status),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Case-insensitive search in the SKU or the name; trimmed (the limit holds for the trimmed term), a blank one is no filter' })),
    limit: pageLimit(50, 200),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type AdminListProductsQuery = Static<typeof AdminListProductsQuery>;

export const PopularQuery = Type.Object({ limit: pageLimit() }, { additionalProperties: false });

export const CreateProductBody = Type.Object(
  {
    sku: Sku,
    name: productName(),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    priceCents: PriceCents,
    currency: Type.Optional(Currency),
    categoryId: Type.Optional(Type.Union([Id, Type.Null()])),
    status: Type.Optional(Status),
    available: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
    maxPerCustomer: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type CreateProductBody = Static<typeof CreateProductBody>;

export const UpdateProductBody = Type.Object(
  {
    name: Type.Optional(productName(true)),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    priceCents: Type.Optional(PriceCents),
    currency: Type.Optional(
      currency('ISO 4217 code; a change of currency needs `priceCents` in the same update (it counts the minor unit of the currency: a cent, a whole yen, a thousandth of a dinar), else 422 PRICE_REQUIRED. Resending the current currency is no change'),
    ),
    categoryId: Type.Optional(Type.Union([Id, Type.Null()])),
    status: Type.Optional(Status),
    maxPerCustomer: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateProductBody = Static<typeof UpdateProductBody>;

export { MAX_STOCK } from './catalog.limits.ts';

export const StockBody = Type.Object({ available: Type.Integer({ minimum: 0, maximum: MAX_STOCK }) }, { additionalProperties: false });

export const StockAdjustmentBody = Type.Object(
  {
    // 0 changes nothing: taken, it spent its idempotency key and was audited as a change with before = after.
    delta: Type.Integer({
      minimum: -MAX_STOCK,
      maximum: MAX_STOCK,
      not: { const: 0 },
      description: 'Units to add (negative: to remove), applied to the stock as it is when the adjustment runs; never 0 (400 VALIDATION_FAILED)',
    }),
  },
  { additionalProperties: false },
);

export const AdminIdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$', description: 'Required: a unique key per adjustment, e.g. a UUID; a retry with it is applied once' })),
});

export const Category = Type.Object(
  { id: Type.Integer(), slug: Type.String(), name: Type.String(), parentId: Type.Union([Type.Integer(), Type.Null()]) },
  { $id: 'Category' },
);
export type Category = Static<typeof Category>;

export const CategoryList = Type.Object({ items: Type.Array(Type.Ref('Category')) });

const Slug = Type.String({ minLength: 1, maxLength: 100, pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$' });

export const CreateCategoryBody = Type.Object(
  { slug: Slug, name: displayName(200, { singleLine: true, description: SINGLE_LINE }), parentId: Type.Optional(Type.Union([Id, Type.Null()])) },
  { additionalProperties: false },
);
export type CreateCategoryBody = Static<typeof CreateCategoryBody>;

export const UpdateCategoryBody = Type.Object(
  { slug: Type.Optional(Slug), name: Type.Optional(displayName(200, { description: SINGLE_LINE })), parentId: Type.Optional(Type.Union([Id, Type.Null()])) },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateCategoryBody = Static<typeof UpdateCategoryBody>;
