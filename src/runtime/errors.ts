// Errors a user can cause. Each carries the exit code the CLI leaves with and a message
// that names the cause and the fix; the CLI prints the message, never a stack trace.

export const EXIT = {
  ok: 0,
  failed: 1,
  partial: 2,
  tempfail: 75, // EX_TEMPFAIL from sysexits.h: another collector holds the store; try again later
  config: 78, // EX_CONFIG from sysexits.h
} as const;

export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** One or more configuration problems; each line names the setting, the bad value and what is expected. */
export class ConfigError extends UserError {
  constructor(readonly problems: string[]) {
    super(problems.map((p) => `config error: ${p}`).join('\n'), EXIT.config);
    this.name = 'ConfigError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
