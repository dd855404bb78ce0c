export { LoginLockedError, LoginUnavailableError, NotSignedInError } from './customers.errors.ts';
export { customerRoutes } from './customers.routes.ts';
export { Customer } from './customers.schemas.ts';
export { createCustomerService, type CustomerService, type LoginGuard } from './customers.service.ts';
export { customers } from './customers.tables.ts';
export { hashPassword } from './password.ts';
export { requireCustomer, SESSION_COOKIE, sessionPlugin } from './session-plugin.ts';
export { createSessionStore, type SessionStore } from './sessions.ts';
export { createLoginGuard, noLoginGuard } from './login-guard.ts';
