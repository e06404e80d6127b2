/**
 * `@atelier/testing`: helpers for the workspaces' integration tests. Everything here
 * drives real parts (a real server on a real port, a real database, real sockets).
 */
export { startTestServer, restartTestServer, TEST_ADMIN_TOKEN, TEST_SIGNING_SECRET, type TestServer } from './test-server.js';
export { freshDatabaseUri, dropDatabase } from './test-database.js';
export { adminRequest, expectProblem, type ProblemBody } from './admin-client.js';
export { SocketProbe, UpgradeRefused, type CloseInfo, type OpenOptions } from './socket-probe.js';
export {
  OPCODE,
  RawWebSocket,
  closePayload,
  encodeFrame,
  rawUpgradeRequest,
  type FrameSpec,
  type RawClose,
  type RawHttpResponse,
  type RawUpgradeOptions,
} from './raw-websocket.js';
export {
  completeJob,
  connectRunner,
  connectWidget,
  imageFrame,
  openRunnerSocket,
  openWidgetSocket,
  pngBytes,
  type RunnerProbe,
  type WidgetProbe,
} from './protocol-clients.js';
export { completeOneGeneration, type RoundTripParties } from './round-trip.js';
export { cancelActiveJobs, createGeneration, readJob, runnersGone, viewGeneration } from './queue-fixtures.js';
export { documentedVariables, variablesRead } from './documented-variables.js';
export {
  startServerCluster,
  startServerProcess,
  type ServerCluster,
  type ServerProcess,
  type ServerProcessOptions,
} from './server-process.js';
export { startHoldingRunner, startInstantRunner, type ScriptedRunner } from './scripted-runner.js';
export { runClaimsScenario, type ClaimsFigures, type ClaimsScenario } from './claims-scenario.js';
export { safetensorsFile, tinyKohyaLora } from './safetensors.js';
export { seededRandom, randomSeed, type SeededRandom } from './seeded-random.js';
export { startRunnerProcess, type RunnerLogLine, type RunnerProcess, type RunnerProcessOptions } from './runner-process.js';
export { postUntilAnswered, type RetriedAnswer, type RetriedRequest } from './retrying-client.js';
export { countChaos, type ChaosCounters, type ClientHistory } from './chaos-counters.js';
export { RunnerFleet, type LeasedJob } from './runner-fleet.js';
export { storageContract, type StorageUnderTest } from './storage-contract.js';
export { startS3Server, GOFAKES3_MODULE, GOFAKES3_VERSION, type S3Server, type S3ServerStart } from './s3-server.js';
export {
  FakeShopify,
  ShopifySigner,
  verifyJwt,
  type FakeMedia,
  type FakeProduct,
  type FakeShop,
  type FakeShopifyOptions,
  type FakeShopifyRequest,
  type SessionTokenClaims,
  type SignedWebhook,
  type WebhookInput,
  startShopifyTestApp,
  TEST_SHOPIFY_API_KEY,
  TEST_SHOPIFY_API_SECRET,
  TEST_SHOPIFY_SCOPES,
  TEST_SHOPIFY_TOKEN_KEY,
  type ShopifyTestApp,
  shopperGenerates,
  shopperJob,
  type ShopperAnswer,
  type ShopperGenerateInput,
} from './fake-shopify/index.js';
export { uploadRgba, type RgbaImage } from './upload-fixtures.js';
export { openEventStream, type EventStream, type StreamEvent } from './event-stream.js';
