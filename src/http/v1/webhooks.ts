import { Type } from 'typebox';
import { principalOf } from '../authenticate.js';
import {
  IdParams,
  Nullable,
  WebhookCreate,
  WebhookDeliveryQuery,
  WebhookListQuery,
  WebhookPatch,
  errorResponses,
} from '../../schemas.js';
import type { DeliveryRow, WebhookRow } from '../../store/webhooks.js';
import type { FastifyTypebox } from '../types.js';
import { page } from '../views.js';

/** A webhook as the API shows it: never its secret. */
export function webhookJson(w: WebhookRow) {
  return {
    id: w.id,
    resourceId: w.resource_id,
    url: w.url,
    events: JSON.parse(w.events) as string[],
    active: w.active === 1,
    createdBy: w.created_by,
    createdAt: w.created_at,
    updatedAt: w.updated_at,
  };
}

/** One delivery in the log. */
export function deliveryJson(d: DeliveryRow) {
  return {
    id: d.id,
    webhookId: d.webhook_id,
    eventId: d.event_id,
    eventType: d.event_type,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.status === 'pending' ? d.next_attempt_at : null,
    lastStatus: d.last_status,
    lastError: d.last_error,
    payload: JSON.parse(d.payload) as unknown,
    createdAt: d.created_at,
    updatedAt: d.updated_at,
  };
}

const WebhookPage = Type.Object({ items: Type.Array(Type.Ref('Webhook')), nextCursor: Nullable(Type.String()) });
const DeliveryPage = Type.Object({
  items: Type.Array(Type.Ref('WebhookDelivery')),
  nextCursor: Nullable(Type.String()),
});
const DeliveryParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 80 }),
  deliveryId: Type.String({ minLength: 1, maxLength: 80 }),
});
const SecretAnswer = Type.Object({ secret: Type.String({ description: 'The new signing secret: shown this once.' }) });

const WHO =
  "System-wide webhooks: system administrators. A resource's: anyone with members:manage there (its administrators).";

/** Webhooks: token events POSTed, signed, to URLs of the operators' choosing. */
export function webhookRoutes(app: FastifyTypebox): void {
  const kg = app.keygate;
  // Their own group: a token that may read logs must not be able to send token events elsewhere.
  const config = { apiGroup: 'webhooks' };
  const tags = ['webhooks'];

  // Creates a webhook; the answer holds its signing secret, once.
  app.post(
    '/webhooks',
    {
      config,
      schema: {
        tags,
        summary: 'Create a webhook (the signing secret is in this response only)',
        description: WHO,
        body: WebhookCreate,
        response: { 201: Type.Ref('WebhookWithSecret'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { row, secret } = await kg.webhooks.create(principalOf(request), request.body);
      return reply.code(201).send({ ...webhookJson(row), secret });
    },
  );

  // Lists the webhooks the caller may manage.
  app.get(
    '/webhooks',
    {
      config,
      schema: {
        tags,
        summary: 'List webhooks (on one resource, or all the caller may manage)',
        description: WHO,
        querystring: WebhookListQuery,
        response: { 200: WebhookPage, ...errorResponses },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 100;
      return page(await kg.webhooks.list(principalOf(request), { ...request.query, limit }), limit, webhookJson);
    },
  );

  // Shows a webhook (never its secret).
  app.get(
    '/webhooks/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Show a webhook',
        description: WHO,
        params: IdParams,
        response: { 200: Type.Ref('Webhook'), ...errorResponses },
      },
    },
    async (request) => webhookJson(await kg.webhooks.get(principalOf(request), request.params.id)),
  );

  // Changes a webhook's URL, events or whether it is on.
  app.patch(
    '/webhooks/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Edit a webhook',
        description: WHO,
        params: IdParams,
        body: WebhookPatch,
        response: { 200: Type.Ref('Webhook'), ...errorResponses },
      },
    },
    async (request) => webhookJson(await kg.webhooks.update(principalOf(request), request.params.id, request.body)),
  );

  // Deletes a webhook and its delivery log.
  app.delete(
    '/webhooks/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Delete a webhook',
        description: WHO,
        params: IdParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await kg.webhooks.delete(principalOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  // Gives a webhook a new signing secret, shown once.
  app.post(
    '/webhooks/:id/rotate-secret',
    {
      config,
      schema: {
        tags,
        summary: 'Rotate the signing secret (the new one is in this response only)',
        description: `${WHO} The old secret stops signing at once.`,
        params: IdParams,
        response: { 200: SecretAnswer, ...errorResponses },
      },
    },
    async (request) => ({ secret: (await kg.webhooks.rotateSecret(principalOf(request), request.params.id)).secret }),
  );

  // The delivery log: status, attempts and the receiver's last answer, newest first.
  app.get(
    '/webhooks/:id/deliveries',
    {
      config,
      schema: {
        tags,
        summary: "A webhook's deliveries, newest first",
        description: WHO,
        params: IdParams,
        querystring: WebhookDeliveryQuery,
        response: { 200: DeliveryPage, ...errorResponses },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 100;
      return page(
        await kg.webhooks.deliveries(principalOf(request), request.params.id, { ...request.query, limit }),
        limit,
        deliveryJson,
      );
    },
  );

  // Sends an earlier delivery's event again, as a new delivery.
  app.post(
    '/webhooks/:id/deliveries/:deliveryId/redeliver',
    {
      config,
      schema: {
        tags,
        summary: 'Redeliver an event by hand (a new delivery, same event and payload)',
        description: WHO,
        params: DeliveryParams,
        response: { 202: Type.Ref('WebhookDelivery'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const row = await kg.webhooks.redeliver(principalOf(request), request.params.id, request.params.deliveryId);
      return reply.code(202).send(deliveryJson(row));
    },
  );

  // Sends the webhook a ping event, to check it is reachable.
  app.post(
    '/webhooks/:id/ping',
    {
      config,
      schema: {
        tags,
        summary: 'Send a ping event to the webhook',
        description: WHO,
        params: IdParams,
        response: { 202: Type.Ref('WebhookDelivery'), ...errorResponses },
      },
    },
    async (request, reply) =>
      reply.code(202).send(deliveryJson(await kg.webhooks.ping(principalOf(request), request.params.id))),
  );
}
