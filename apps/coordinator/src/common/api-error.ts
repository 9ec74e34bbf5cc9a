// Errors at the HTTP edge: a status, a machine-readable code and a human-readable reason.
import { HttpException } from '@nestjs/common';
import type { ApiBodyOptions } from '@nestjs/swagger';
import { z } from 'zod';

/** The OpenAPI schema object type as @nestjs/swagger's decorators accept it. */
export type SchemaObject = Exclude<
  NonNullable<Extract<ApiBodyOptions, { schema?: unknown }>['schema']>,
  { $ref: string }
> & { properties?: Record<string, unknown> };

export interface ApiErrorBody {
  readonly statusCode: number;
  /** Stable machine-readable reason, e.g. `LICENCE_EXPIRED`. */
  readonly code: string;
  readonly message: string;
  readonly details?: unknown;
}

export class ApiError extends HttpException {
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(
      { statusCode: status, code, message, ...(details === undefined ? {} : { details }) } satisfies ApiErrorBody,
      status,
    );
  }
}

/** Parses `value` with `schema` or throws 400 INVALID_<what> naming the first bad field. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, what = 'REQUEST'): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const first = issues[0];
  throw new ApiError(
    400,
    `INVALID_${what}`,
    first ? `${first.path || 'body'}: ${first.message}` : 'invalid input',
    issues,
  );
}

/** JSON schema of a zod schema for the OpenAPI document (input side: what a client sends). */
export function openApiSchema(schema: z.ZodType): SchemaObject {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json as SchemaObject;
}

export const apiErrorSchema: SchemaObject = {
  type: 'object',
  required: ['statusCode', 'code', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string', description: 'machine-readable reason' },
    message: { type: 'string' },
    details: {},
  },
};
