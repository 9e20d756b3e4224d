/** This implementation's version: package.json's, asserted equal by test/cli/messages.test.ts. */
export const VERSION = '0.1.0'
