/**
 * What a service process started by a test inherits from the test's environment: only
 * where to find programs and a home. Everything else it gets is what the test gives it.
 */
export function inheritedEnv(): { PATH: string; HOME: string } {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
}
