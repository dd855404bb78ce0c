// The sale-events module's HTTP side: its routes and request/response schemas (typebox), for the web role only.
// Kept out of index.ts so that the worker role, which talks to the module through index.ts, loads none of it.
export { saleEventAdminRoutes, saleEventSchemas } from './sale-events.routes.ts';
