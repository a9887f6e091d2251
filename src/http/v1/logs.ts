import { Type } from 'typebox';
import { fail } from '../../domain/errors.js';
import { isSystemAdmin } from '../../services/principal.js';
import { principalOf } from '../authenticate.js';
import {
  AccessLogExportQuery,
  AccessLogQuery,
  AccessLogRecord,
  AuditLogExportQuery,
  AuditLogQuery,
  AuditRecord,
  errorResponses,
  Nullable,
} from '../../schemas.js';
import { exportHeaders } from '../../services/log-query.js';
import type { FastifyTypebox } from '../types.js';

const AccessLogPage = Type.Object({ items: Type.Array(AccessLogRecord), nextCursor: Nullable(Type.String()) });
const AuditPage = Type.Object({ items: Type.Array(AuditRecord), nextCursor: Nullable(Type.String()) });
const exportResponse = {
  200: {
    description: 'The whole filtered log, newest first, streamed as NDJSON or CSV (a header row first).',
    content: {
      'application/x-ndjson': { schema: { type: 'string' } },
      'text/csv': { schema: { type: 'string' } },
    },
  },
  ...errorResponses,
};

const WHO_ACCESS =
  "A token's owner sees its records; logs:read on a resource (managers, administrators) opens the records of tokens there and below; system administrators see all. A token needs logs:read and sees no more than its owner, within its own subtree.";
const WHO_AUDIT =
  'System administrators see all; logs:read or members:manage on a resource opens the events there and below; everyone sees what they did and what was done to their tokens. A token needs logs:read and sees no more than its owner, within its own subtree.';

/** Reading and exporting the access log and the audit trail. */
export function logRoutes(app: FastifyTypebox): void {
  const kg = app.keygate;
  const config = { apiGroup: 'logs' };
  const tags = ['logs'];

  // Says what the access-log writer of this process has written, queued and dropped.
  app.get(
    '/logs/access/stats',
    {
      config,
      schema: {
        tags,
        summary: "This server process's access-log writer: written, queued and dropped records (system administrators)",
        description:
          'Counts since the process started. droppedCaptures: records kept without their headers and bodies because the queue was long; droppedRecords: records lost because it was full; failedWrites: batches the database refused (kept and retried).',
        response: {
          200: Type.Object({
            written: Type.Integer(),
            queued: Type.Integer(),
            droppedCaptures: Type.Integer(),
            droppedRecords: Type.Integer(),
            failedWrites: Type.Integer(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      if (!isSystemAdmin(principalOf(request))) fail('FORBIDDEN');
      return { ...kg.accessLog.counters };
    },
  );

  // Pages through the access log, newest first.
  app.get(
    '/logs/access',
    {
      config,
      schema: {
        tags,
        summary: 'Read the access log (filtered, newest first, cursor-paged)',
        description: WHO_ACCESS,
        querystring: AccessLogQuery,
        response: { 200: AccessLogPage, ...errorResponses },
      },
    },
    async (request) => kg.logs.accessPage(principalOf(request), request.query),
  );

  // Streams the whole filtered access log as a file.
  app.get(
    '/logs/access/export',
    {
      config,
      schema: {
        tags,
        summary: 'Export the access log as NDJSON or CSV (streamed)',
        description: WHO_ACCESS,
        querystring: AccessLogExportQuery,
        response: exportResponse,
      },
    },
    async (request, reply) => {
      const format = request.query.format ?? 'ndjson';
      const stream = kg.logs.accessExport(principalOf(request), request.query, format);
      return reply.headers(exportHeaders('access', format, new Date())).send(stream);
    },
  );

  // Pages through the audit trail, newest first.
  app.get(
    '/logs/audit',
    {
      config,
      schema: {
        tags,
        summary: 'Read the audit trail (filtered, newest first, cursor-paged)',
        description: WHO_AUDIT,
        querystring: AuditLogQuery,
        response: { 200: AuditPage, ...errorResponses },
      },
    },
    async (request) => kg.logs.auditPage(principalOf(request), request.query),
  );

  // Streams the whole filtered audit trail as a file.
  app.get(
    '/logs/audit/export',
    {
      config,
      schema: {
        tags,
        summary: 'Export the audit trail as NDJSON or CSV (streamed)',
        description: WHO_AUDIT,
        querystring: AuditLogExportQuery,
        response: exportResponse,
      },
    },
    async (request, reply) => {
      const format = request.query.format ?? 'ndjson';
      const stream = kg.logs.auditExport(principalOf(request), request.query, format);
      return reply.headers(exportHeaders('audit', format, new Date())).send(stream);
    },
  );
}
