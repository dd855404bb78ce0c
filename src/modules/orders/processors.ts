/** The module's job processors: a second entry beside `index.ts`, imported by the worker role only, so that the web role never loads them (test/startup-imports.test.ts). */
export { EXPIRE_ORDER_STILL_NEEDED, isOrderJob, orderProcessors, type OrderJob } from './orders.processors.ts';
