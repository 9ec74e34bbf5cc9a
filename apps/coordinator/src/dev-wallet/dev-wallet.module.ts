import { Global, Inject, Module, type OnModuleDestroy } from '@nestjs/common';
import { DevWalletController } from './dev-wallet.controller.js';
import { DevWalletService } from './dev-wallet.service.js';

/** Loaded by AppModule only when the coordinator runs on the embedded dev chain. */
@Global()
@Module({ controllers: [DevWalletController], providers: [DevWalletService], exports: [DevWalletService] })
export class DevWalletModule implements OnModuleDestroy {
  constructor(@Inject(DevWalletService) private readonly dev: DevWalletService) {}

  onModuleDestroy(): void {
    this.dev.close();
  }
}
