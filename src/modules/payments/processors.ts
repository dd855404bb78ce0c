/** The module's job processors: a second entry beside `index.ts`, imported by the worker role only, so that the web role never loads them (test/startup-imports.test.ts). */
export { CANCEL_OPEN_INTENTS_STILL_NEEDED, paymentProcessors } from './payments.processors.ts';
