export { orderFollowUps, type OrderPlaced } from './orders.follow-ups.ts';
export { orderProcessors } from './orders.processors.ts';
