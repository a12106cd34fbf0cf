// How agentctl's human output looks on this terminal: colour or not, and the width lines wrap
// to. Its own module: `agentctl status` decides it before asking agentd, which renders the text
// (agent/cli/status.ts statusText), and loads no formatter itself.
import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';

export interface Style {
  colour: boolean;
  /** The width lines are wrapped to: the terminal's (or COLUMNS), at most 80, at least 40. */
  columns: number;
}

/** The width agentctl's human output wraps to, whatever a caller asks: 40 to 80 columns. */
export function clampColumns(columns: number): number {
  return Math.max(40, Math.min(80, columns));
}

/** Colour only on a terminal, never with NO_COLOR (https://no-color.org) or TERM=dumb. */
export function styleFor(stream: NodeJS.WriteStream): Style {
  const fromEnv = Number(process.env.COLUMNS);
  const columns =
    Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : stream.isTTY === true && stream.columns ? stream.columns : 80;
  return {
    colour: stream.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb',
    columns: clampColumns(columns),
  };
}

/**
 * styleFor(process.stdout), without making process.stdout when it is not a terminal: `agentctl
 * status` asks agentd first and makes its stdout while agentd answers (about 1 ms).
 */
export function stdoutStyle(): Style {
  return styleFor(isatty(1) ? process.stdout : ({ isTTY: false } as NodeJS.WriteStream));
}

/**
 * Writes `text` to stdout and returns true once all of it is written, when stdout is not a
 * terminal: with write(2) itself, without making process.stdout (a stream: about 1 ms for
 * `agentctl status`). A closed reader (EPIPE: `agentctl status | head -1`) ends the output
 * quietly. It returns false, having written nothing or part, when stdout is a terminal or would
 * block (a non-blocking pipe another process made): the rest then goes through process.stdout,
 * which the caller lets drain before it exits.
 */
export function writeStdoutNow(text: string): boolean {
  if (isatty(1)) {
    process.stdout.write(text);
    return false;
  }
  const bytes = Buffer.from(text);
  let written = 0;
  try {
    while (written < bytes.length) written += writeSync(1, bytes, written);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') return true;
    if (code !== 'EAGAIN') throw error;
    process.stdout.write(bytes.subarray(written));
    return false;
  }
}
