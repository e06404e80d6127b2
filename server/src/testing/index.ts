// Test helpers for other workspaces' integration tests (`@atelier/server/testing`).
export { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from './test-server.js';
export { freshDatabaseUri, dropDatabase } from './test-database.js';
