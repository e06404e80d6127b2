import type { Connection } from 'mongoose';
import { auditEventModel } from './audit-event.model.js';
import { apiKeyModel } from './api-key.model.js';
import { creditEntryModel } from './credit-entry.model.js';
import { creditHintModel } from './credit-hint.model.js';
import { generationModel } from './generation.model.js';
import { idempotencyKeyModel } from './idempotency-key.model.js';
import { jobEventBatchModel } from './job-event-batch.model.js';
import { jobTransitionModel } from './job-transition.model.js';
import { leaseModel } from './lease.model.js';
import { loraModel } from './lora.model.js';
import { planModel } from './plan.model.js';
import { platformAuditEventModel } from './platform-audit-event.model.js';
import { runnerTokenModel } from './runner-token.model.js';
import { runnerModel } from './runner.model.js';
import { secretModel } from './secret.model.js';
import { serverInstanceModel } from './server-instance.model.js';
import { tenantConfigModel } from './tenant-config.model.js';
import { tenantDeletionModel } from './tenant-deletion.model.js';
import { tenantTurnModel } from './tenant-turn.model.js';
import { tenantModel } from './tenant.model.js';
import { uploadModel } from './upload.model.js';
import { webhookAttemptModel } from './webhook-attempt.model.js';
import { webhookEndpointModel } from './webhook-endpoint.model.js';
import { webhookMessageModel } from './webhook-message.model.js';
import { webhookSecretModel } from './webhook-secret.model.js';

export type Models = ReturnType<typeof createModels>;

/** Models are bound to one connection so that tests can hold several databases at once. */
export function createModels(connection: Connection) {
  return {
    Tenant: tenantModel(connection),
    AuditEvent: auditEventModel(connection),
    PlatformAuditEvent: platformAuditEventModel(connection),
    ApiKey: apiKeyModel(connection),
    Generation: generationModel(connection),
    IdempotencyKey: idempotencyKeyModel(connection),
    RunnerToken: runnerTokenModel(connection),
    Runner: runnerModel(connection),
    PlatformSecret: secretModel(connection),
    JobTransition: jobTransitionModel(connection),
    Lease: leaseModel(connection),
    TenantTurn: tenantTurnModel(connection),
    ServerInstance: serverInstanceModel(connection),
    JobEventBatch: jobEventBatchModel(connection),
    Plan: planModel(connection),
    TenantConfig: tenantConfigModel(connection),
    CreditEntry: creditEntryModel(connection),
    CreditHint: creditHintModel(connection),
    TenantDeletion: tenantDeletionModel(connection),
    Lora: loraModel(connection),
    Upload: uploadModel(connection),
    WebhookEndpoint: webhookEndpointModel(connection),
    WebhookSecret: webhookSecretModel(connection),
    WebhookMessage: webhookMessageModel(connection),
    WebhookAttempt: webhookAttemptModel(connection),
  };
}
