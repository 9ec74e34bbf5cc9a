import { type DynamicModule, Global, Module } from '@nestjs/common';
import { CONTENT_STORE, type CoordinatorContentStore } from './content-store.port.js';
import { ModelsController } from './models.controller.js';
import { ModelsService } from './models.service.js';

@Global()
@Module({})
export class ModelsModule {
  static forRoot(store: CoordinatorContentStore | null): DynamicModule {
    return {
      module: ModelsModule,
      controllers: [ModelsController],
      providers: [{ provide: CONTENT_STORE, useValue: store }, ModelsService],
      exports: [ModelsService, CONTENT_STORE],
    };
  }
}
