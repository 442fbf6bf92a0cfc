import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { caller } from '../auth/authenticate.ts';
import { nowIso, type ServerContext } from '../context.ts';
import { createOrg } from '../db/namespaces.ts';
import { nameSchema, roleSchema } from '../names.ts';
import { listMembers, removeMember, setMemberRole } from '../services/members.ts';
import { memberView } from './answers.ts';
import { signedIn } from './route-docs.ts';

export const orgBody = z.object({ name: nameSchema });
export const memberParams = z.object({ org: nameSchema, username: nameSchema });
export const memberBody = z.object({ role: roleSchema });
const orgParams = memberParams.pick({ org: true });

export function orgRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const createDoc = signedIn({
    summary: 'Create an organisation you own',
    tags: ['orgs'],
    body: orgBody,
    responses: { 201: orgBody },
    errors: ['conflict'],
  });
  app.post('/orgs', { onRequest: ctx.authenticate, config: { doc: createDoc } }, async (request, reply) => {
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

  const membersDoc = signedIn({
    summary: "An organisation's members",
    tags: ['orgs'],
    params: orgParams,
    responses: { 200: z.object({ members: memberView.array() }) },
    errors: ['not_found'],
  });
  app.get('/orgs/:org/members', { onRequest: ctx.authenticate, config: { doc: membersDoc } }, async (request) => {
    const { org } = parseOrThrow(orgParams, request.params, 'path');
    return { members: await listMembers(ctx, caller(request), org) };
  });

  const setRoleDoc = signedIn({
    summary: 'Add a member or change their role',
    tags: ['orgs'],
    params: memberParams,
    body: memberBody,
    responses: { 200: memberView },
    errors: ['not_found', 'conflict'],
  });
  app.put(
    '/orgs/:org/members/:username',
    { onRequest: ctx.authenticate, config: { doc: setRoleDoc } },
    async (request) => {
      const { org, username } = parseOrThrow(memberParams, request.params, 'path');
      const { role } = parseOrThrow(memberBody, request.body);
      await setMemberRole(ctx, caller(request), org, username, role);
      return { username, role };
    },
  );

  const removeDoc = signedIn({
    summary: 'Remove a member',
    tags: ['orgs'],
    params: memberParams,
    responses: { 204: 'removed' },
    errors: ['not_found', 'conflict'],
  });
  const removeOptions = { onRequest: ctx.authenticate, config: { doc: removeDoc } };
  app.delete('/orgs/:org/members/:username', removeOptions, async (request, reply) => {
    const { org, username } = parseOrThrow(memberParams, request.params, 'path');
    await removeMember(ctx, caller(request), org, username);
    return reply.code(204).send();
  });
}
