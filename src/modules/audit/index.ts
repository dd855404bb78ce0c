export { adminAuditTrail, noteAdminAction, type AdminActionNote, type AdminChange } from './audit-trail.ts';
export { ADMIN_ACTOR_MAX_LENGTH, InvalidAdminActorError } from './audit.errors.ts';
export { ADMIN_ACTION_RETENTION_DAYS, createAuditRepository, pruneAdminActions, type AuditRepository } from './audit.repository.ts';
export { createAuditService, type AuditService } from './audit.service.ts';
export * from './audit.tables.ts';
export { createWorkerAuditTrail, GIVE_BACK_AUDIT_ROUTE, type WorkerAction, type WorkerAuditTrail } from './worker-actions.ts';
