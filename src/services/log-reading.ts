import type { Readable } from 'node:stream';
import { fail } from '../domain/errors.js';
import { levelPermissions, type AccessModel } from '../domain/model.js';
import type { AccessLogFilter, AccessLogRow } from '../store/access-log.js';
import type { AuditFilter, AuditRow } from '../store/audit.js';
import type { Stores } from '../store/index.js';
import type { Reach } from '../store/log-filters.js';
import { ndjsonRecord } from './access-log.js';
import {
  decodeCursor,
  exportStream,
  pageLimit,
  parseTimeRange,
  readPage,
  type ExportFormat,
  type PageReader,
} from './log-query.js';
import { actingUser, isSystemAdmin, ownerId, type Principal } from './principal.js';

/** Filters of the access log, as the API takes them. */
export interface AccessLogQuery {
  tokenId?: string | undefined;
  ownerId?: string | undefined;
  resourceId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  /** A class (`2xx`, `4xx`) or an exact code (`404`). */
  status?: string | undefined;
  outcome?: string | undefined;
  pathPrefix?: string | undefined;
  ip?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** Filters of the audit trail, as the API takes them. */
export interface AuditLogQuery {
  actorId?: string | undefined;
  /** An exact action, or a prefix ending in a dot (`token.`). */
  action?: string | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
  resourceId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** Permissions that open a resource's access log to its holder. */
export const ACCESS_LOG_READERS = ['logs:read'] as const;
/** Permissions that open a resource's audit trail to its holder. */
export const AUDIT_READERS = ['logs:read', 'members:manage'] as const;

/**
 * What of a log a principal may see (pure): everything for a system administrator; otherwise the
 * records of the user's own tokens and of every subtree where a role gives one of `grantedBy`.
 * A token sees no more than the user it acts for, and only inside its own subtree.
 */
export function logReach(model: AccessModel, p: Principal, grantedBy: readonly string[]): Reach {
  const within = p.kind === 'token' ? p.token.resourceId : null;
  if (isSystemAdmin(p)) return { everything: true, ownerId: null, resourceRoots: [], within: null };
  const user = actingUser(p);
  if (!user.active) return { everything: false, ownerId: null, resourceRoots: [], within };
  if (user.systemRole === 'admin') return { everything: true, ownerId: null, resourceRoots: [], within };
  const resourceRoots = [...user.roles]
    .filter(([, role]) => levelPermissions(model, role).some((perm) => grantedBy.includes(perm)))
    .map(([resourceId]) => resourceId)
    .sort();
  return { everything: false, ownerId: ownerId(p), resourceRoots, within };
}

/** A status filter: a class (`1xx` … `5xx`) or an exact code (100–599) as an inclusive range; anything else is a 400 on `status`. */
export function parseStatus(status: string | undefined): { statusMin?: number; statusMax?: number } {
  if (status === undefined) return {};
  const m = /^([1-5])(xx|\d\d)$/i.exec(status);
  if (!m) fail('VALIDATION_FAILED', 'status: must be a class 1xx–5xx or a code 100–599.', 'status');
  const hundreds = Number(m[1]) * 100;
  if (m[2]?.toLowerCase() === 'xx') return { statusMin: hundreds, statusMax: hundreds + 99 };
  const code = Number(status);
  return { statusMin: code, statusMax: code };
}

/** An audit record as the API shows it: camelCase, details parsed. */
export function auditRecord(r: AuditRow): Record<string, unknown> {
  let details: unknown;
  try {
    details = JSON.parse(r.details);
  } catch {
    details = {};
  }
  return {
    id: r.id,
    at: r.at,
    actorType: r.actor_type,
    actorId: r.actor_id,
    viaTokenId: r.via_token_id,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    resourceId: r.resource_id,
    details,
    ip: r.ip,
    userAgent: r.user_agent,
  };
}

/** The columns of a CSV export, in order (the record's keys). */
export const ACCESS_LOG_COLUMNS = [
  'at',
  'id',
  'requestId',
  'tokenId',
  'ownerId',
  'resourceId',
  'method',
  'route',
  'path',
  'apiVersion',
  'status',
  'durationMs',
  'ip',
  'userAgent',
  'outcome',
  'carrier',
  'keyPrefix',
  'keyFingerprint',
  'capture',
] as const;
export const AUDIT_COLUMNS = [
  'at',
  'id',
  'actorType',
  'actorId',
  'viaTokenId',
  'action',
  'targetType',
  'targetId',
  'resourceId',
  'details',
  'ip',
  'userAgent',
] as const;

/** Reading and exporting the access log and the audit trail, each limited to what the caller may see. */
export class LogReading {
  constructor(
    private readonly model: AccessModel,
    private readonly stores: Stores,
  ) {}

  /** A token reads logs only when it was given logs:read (besides the logs API group). */
  private requireTokenPermission(p: Principal): void {
    if (p.kind === 'token' && !p.token.permissions.includes('logs:read'))
      fail('INSUFFICIENT_PERMISSIONS', 'Reading logs needs a token with the logs:read permission.');
  }

  private accessReader(p: Principal, q: AccessLogQuery): PageReader<AccessLogRow, number> {
    this.requireTokenPermission(p);
    const filter: Omit<AccessLogFilter, 'before'> = {
      reach: logReach(this.model, p, ACCESS_LOG_READERS),
      tokenId: q.tokenId,
      ownerId: q.ownerId,
      resourceId: q.resourceId,
      ...parseTimeRange(q.from, q.to),
      ...parseStatus(q.status),
      outcome: q.outcome,
      pathPrefix: q.pathPrefix,
      ip: q.ip,
    };
    return (before, limit) => this.stores.accessLog.page({ ...filter, before }, limit);
  }

  private auditReader(p: Principal, q: AuditLogQuery): PageReader<AuditRow, string> {
    this.requireTokenPermission(p);
    const { fromMs, toMs } = parseTimeRange(q.from, q.to);
    const filter: Omit<AuditFilter, 'before'> = {
      reach: logReach(this.model, p, AUDIT_READERS),
      actorId: q.actorId,
      action: q.action,
      targetType: q.targetType,
      targetId: q.targetId,
      resourceId: q.resourceId,
      from: fromMs === undefined ? undefined : new Date(fromMs).toISOString(),
      to: toMs === undefined ? undefined : new Date(toMs).toISOString(),
    };
    return (before, limit) => this.stores.audit.page({ ...filter, before }, limit);
  }

  /** A page of the access log, newest first. Records outside the caller's reach are simply not there. */
  async accessPage(
    p: Principal,
    q: AccessLogQuery,
  ): Promise<{ items: Record<string, unknown>[]; nextCursor: string | null }> {
    const limit = pageLimit(q.limit);
    const read = this.accessReader(p, q);
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, 'number');
    const { rows, nextCursor } = await readPage(read, after, limit);
    return { items: rows.map(ndjsonRecord), nextCursor };
  }

  /** A page of the audit trail, newest first. */
  async auditPage(
    p: Principal,
    q: AuditLogQuery,
  ): Promise<{ items: Record<string, unknown>[]; nextCursor: string | null }> {
    const limit = pageLimit(q.limit);
    const read = this.auditReader(p, q);
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, 'string');
    const { rows, nextCursor } = await readPage(read, after, limit);
    return { items: rows.map(auditRecord), nextCursor };
  }

  /** The whole filtered access log as a stream; filters and rights are checked before it starts. */
  accessExport(p: Principal, q: AccessLogQuery, format: ExportFormat): Readable {
    return exportStream(this.accessReader(p, q), ndjsonRecord, ACCESS_LOG_COLUMNS, format);
  }

  /** The whole filtered audit trail as a stream; filters and rights are checked before it starts. */
  auditExport(p: Principal, q: AuditLogQuery, format: ExportFormat): Readable {
    return exportStream(this.auditReader(p, q), auditRecord, AUDIT_COLUMNS, format);
  }
}
