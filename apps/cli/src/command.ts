/** Where a command writes; tests pass buffers, the binary passes the process streams. */
export interface CommandIo {
  out: (text: string) => void;
  error: (text: string) => void;
  /** Working directory for relative paths. */
  cwd: string;
  /** `out` is an interactive terminal (live progress bars instead of log lines). */
  terminal?: boolean;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Returns the process exit code. */
  run(args: string[], io: CommandIo): Promise<number>;
}
