export { orderFollowUps, type FollowUpDelays, type OrderPlaced } from './orders.follow-ups.ts';
export { orderProcessors } from './orders.processors.ts';
