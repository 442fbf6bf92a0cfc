import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { caller } from '../auth/authenticate.ts';
import { nowIso, type ServerContext } from '../context.ts';
import { createOrg } from '../db/namespaces.ts';
import { nameSchema, roleSchema } from '../names.ts';
import { listMembers, removeMember, setMemberRole } from '../services/members.ts';

export const orgBody = z.object({ name: nameSchema });
export const memberParams = z.object({ org: nameSchema, username: nameSchema });
export const memberBody = z.object({ role: roleSchema });

export function orgRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/orgs', { onRequest: ctx.authenticate }, async (request, reply) => {
    const { name } = parseOrThrow(orgBody, request.body);
    const user = caller(request);
    await createOrg(ctx.db, {
      name,
      ownerId: user.id,
      ownerName: user.username,
      now: nowIso(ctx),
      maxOrgs: ctx.config.orgsPerUser,
    });
    return reply.code(201).send({ name });
  });

  app.get('/orgs/:org/members', { onRequest: ctx.authenticate }, async (request) => {
    const { org } = parseOrThrow(memberParams.pick({ org: true }), request.params, 'path');
    return { members: await listMembers(ctx, caller(request), org) };
  });

  app.put('/orgs/:org/members/:username', { onRequest: ctx.authenticate }, async (request) => {
    const { org, username } = parseOrThrow(memberParams, request.params, 'path');
    const { role } = parseOrThrow(memberBody, request.body);
    await setMemberRole(ctx, caller(request), org, username, role);
    return { username, role };
  });

  app.delete('/orgs/:org/members/:username', { onRequest: ctx.authenticate }, async (request, reply) => {
    const { org, username } = parseOrThrow(memberParams, request.params, 'path');
    await removeMember(ctx, caller(request), org, username);
    return reply.code(204).send();
  });
}
