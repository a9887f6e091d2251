import { Model, errorResponses } from '../../schemas.js';
import type { FastifyTypebox } from '../types.js';
import { modelJson } from '../views.js';

/** What this keygate offers: its access model and token policy, for forms that offer only what will be accepted. */
export function modelRoutes(app: FastifyTypebox): void {
  // Built once: the configuration does not change while the server runs.
  const body = modelJson(app.keygate.config);

  // Tells any caller the resource types, permissions, levels, API groups and token policy.
  app.get(
    '/model',
    {
      schema: {
        tags: ['session'],
        summary: 'What this keygate offers: resource types, permissions, levels, API groups and the token policy',
        description: 'Any signed-in user or token, whatever its API groups.',
        response: { 200: Model, ...errorResponses },
      },
    },
    () => body,
  );
}
