// The waiting-room module's HTTP side: its routes and request/response schemas (typebox), for the web role only.
// Kept out of index.ts so that the worker role, which talks to the module through index.ts, loads none of it.
export { PASS_HEADER, VISITOR_COOKIE } from './waiting-room.routes.ts';
