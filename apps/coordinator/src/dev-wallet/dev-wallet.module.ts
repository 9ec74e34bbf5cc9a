import { Global, Inject, Module, type OnModuleDestroy } from '@nestjs/common';
import { DevWalletController } from './dev-wallet.controller.js';
import { DevWalletService } from './dev-wallet.service.js';
import { SignInLinksController } from './sign-in-links.controller.js';
import { SignInLinksService } from './sign-in-links.service.js';

/** Loaded by AppModule only when the coordinator runs on the embedded dev chain: dev wallet and sign-in links. */
@Global()
@Module({
  controllers: [DevWalletController, SignInLinksController],
  providers: [DevWalletService, SignInLinksService],
  exports: [DevWalletService],
})
export class DevWalletModule implements OnModuleDestroy {
  constructor(@Inject(DevWalletService) private readonly dev: DevWalletService) {}

  onModuleDestroy(): void {
    this.dev.close();
  }
}
