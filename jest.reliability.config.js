// The reliability suite: tests that restart the shared RabbitMQ (rabbitmqctl stop_app/start_app),
// which breaks every other user of the broker at that moment. Run alone and in band:
// `npm run test:reliability`. The normal suite (jest.config.js) leaves this folder out and
// simulates cut connections instead.
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  testMatch: ['<rootDir>/test/reliability/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 300000,
};
