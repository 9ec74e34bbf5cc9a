import { Body, Controller, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { type Caller } from '../auth/auth.service.js';
import { CurrentCaller, SessionGuard } from '../auth/session.guard.js';
import { apiErrorSchema, openApiSchema } from '../common/api-error.js';
import { redeemLinkSchema, SignInLinksService } from './sign-in-links.service.js';

/** Embedded dev chain only (the module is not loaded on an RPC chain): one-time sign-in links for the web app. */
@ApiTags('dev chain')
@Controller('dev/sign-in-links')
export class SignInLinksController {
  constructor(@Inject(SignInLinksService) private readonly links: SignInLinksService) {}

  @Post()
  @UseGuards(SessionGuard)
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Embedded dev chain only: a one-time code that signs a browser in as the caller (10 min, single use)',
    description:
      'Put it in the web app URL fragment (#/jobs/<id>?signin=<code>): the page redeems it and drops it from the address bar.',
  })
  @ApiCreatedResponse({
    schema: {
      type: 'object',
      properties: { code: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } },
    },
  })
  @ApiUnauthorizedResponse({ description: 'SESSION_REQUIRED, SESSION_INVALID', schema: apiErrorSchema })
  mint(@CurrentCaller() caller: Caller) {
    return this.links.mint(caller);
  }

  @Post('redeem')
  @HttpCode(200)
  @ApiOperation({ summary: 'Embedded dev chain only: spend a sign-in link code for a read session (bearer token)' })
  @ApiBody({ schema: openApiSchema(redeemLinkSchema) })
  @ApiOkResponse({ schema: { type: 'object' } })
  @ApiBadRequestResponse({ description: 'INVALID_BODY', schema: apiErrorSchema })
  @ApiUnauthorizedResponse({ description: 'SIGN_IN_LINK_INVALID (unknown, used or expired)', schema: apiErrorSchema })
  redeem(@Body() body: unknown) {
    return this.links.redeem(body);
  }
}
