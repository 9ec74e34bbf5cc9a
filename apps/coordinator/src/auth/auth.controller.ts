import { Body, Controller, Get, Inject, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { apiErrorSchema, openApiSchema } from '../common/api-error.js';
import { AuthService, createSessionSchema, type SessionView } from './auth.service.js';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(@Inject(AuthService) private readonly auth: AuthService) {}

  @Get('nonce')
  @ApiOperation({
    summary: 'A single-use nonce for Sign-In with Ethereum (EIP-4361), with the fields the message must carry',
    description:
      'Build the EIP-4361 message with `domain`, `uri`, `chainId`, `nonce`, an Issued At and an Expiration Time, sign ' +
      'it with personal_sign (EIP-191) and POST it to /auth/session before `expiresAt`.',
  })
  @ApiOkResponse({
    schema: {
      type: 'object',
      properties: {
        nonce: { type: 'string' },
        domain: { type: 'string' },
        uri: { type: 'string' },
        chainId: { type: 'string' },
        statement: { type: 'string' },
        expiresAt: { type: 'string', format: 'date-time' },
      },
    },
  })
  @ApiServiceUnavailableResponse({ description: 'CHAIN_UNAVAILABLE, TOO_MANY_NONCES', schema: apiErrorSchema })
  nonce() {
    return this.auth.issueNonce();
  }

  @Post('session')
  @ApiOperation({
    summary: 'Open a read session with a signed EIP-4361 message; returns a bearer token',
    description:
      'Checks the message form, domain, URI, chain id, Expiration Time / Not Before, the signature and the nonce ' +
      '(single use). Send the token as `Authorization: Bearer <token>` to /jobs, /models and /progress.',
  })
  @ApiBody({ schema: openApiSchema(createSessionSchema) })
  @ApiCreatedResponse({
    schema: {
      type: 'object',
      properties: {
        token: { type: 'string' },
        address: { type: 'string' },
        operator: { type: 'boolean', description: 'may read every buyer’s jobs' },
        expiresAt: { type: 'string', format: 'date-time' },
      },
    },
  })
  @ApiBadRequestResponse({
    description: 'INVALID_BODY, INVALID_SIWE_MESSAGE, MALFORMED_SIGNATURE',
    schema: apiErrorSchema,
  })
  @ApiUnauthorizedResponse({
    description:
      'SIWE_WRONG_DOMAIN, SIWE_WRONG_URI, SIWE_WRONG_CHAIN_ID, SIWE_EXPIRED, SIWE_NOT_YET_VALID, SIGNATURE_MISMATCH, SIWE_NONCE_INVALID',
    schema: apiErrorSchema,
  })
  @ApiServiceUnavailableResponse({ description: 'CHAIN_UNAVAILABLE', schema: apiErrorSchema })
  session(@Body() body: unknown): Promise<SessionView> {
    return this.auth.createSession(body);
  }
}
