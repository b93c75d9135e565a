import { LOCAL_AWS_ENV } from './dynalite';

/**
 * Points the AWS SDK of this test file at local servers: fake credentials and region in `process.env` (jest
 * gives each test file its own copy), no instance-metadata lookups, plus any `extra` variables.
 */
export function setLocalAwsEnv(extra: Record<string, string> = {}): void {
  Object.assign(process.env, LOCAL_AWS_ENV, { AWS_EC2_METADATA_DISABLED: 'true' }, extra);
  delete process.env.AWS_PROFILE;
}
