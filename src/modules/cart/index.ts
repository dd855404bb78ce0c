export { createCartService, type CartLine, type CartService, type OrderingClaim } from './cart.service.ts';
export { createCartStore, type CartOwner, type CartStore } from './cart.store.ts';
export { createGuestCookies, GUEST_COOKIE, type GuestCookies } from './guest-cookie.ts';
export { CartBusyError, CartOrderInProgressError } from './cart.errors.ts';
